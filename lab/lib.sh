# Shared settings of the lab scripts (sourced, not run).
# Everything listens on 127.0.0.1 only; every port can be moved with an environment variable.

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${AZKRB_LAB_DIR:-$LAB_SRC/state}
RUN=$LAB_DIR/run
LOGDIR=$LAB_DIR/log

KDC_PORT=${AZKRB_LAB_KDC_PORT:-18088}
PROXY_PORT=${AZKRB_LAB_PROXY_PORT:-18443}
# A second KDC proxy whose KDC cannot be found: the real kdcproxy answering 503 at once, as
# an overloaded or cut-off front end would.
FLAKY_PROXY_PORT=${AZKRB_LAB_FLAKY_PROXY_PORT:-18444}
SMB_PORT=${AZKRB_LAB_SMB_PORT:-4445}          # Azure "maximum security": 3.1.1, encryption required
SMB_PLAIN_PORT=${AZKRB_LAB_SMB_PLAIN_PORT:-4446}  # no encryption, for comparisons
HTTP_PROXY_PORT=${AZKRB_LAB_HTTP_PROXY_PORT:-18888}  # an HTTP CONNECT proxy, for HTTPS_PROXY tests
DNS_PORT=${AZKRB_LAB_DNS_PORT:-15353}          # DNS with private-endpoint style CNAMEs
OAUTH_PORT=${AZKRB_LAB_OAUTH_PORT:-18447}      # kerbticket and Entra token stand-ins (HTTPS)
IMDS_PORT=${AZKRB_LAB_IMDS_PORT:-18446}        # an IMDS stand-in (HTTP)
TENANT=${AZKRB_LAB_TENANT:-00000000-1111-2222-3333-444444444444}
# Set AZKRB_LAB_SMB_CIPHERS=AES-256-GCM to make the encrypted instance exactly Azure's
# maximum-security cipher list.
SMB_CIPHERS=${AZKRB_LAB_SMB_CIPHERS:-}

ENTRA=KERBEROS.MICROSOFTONLINE.COM
ADDS=CONTOSO.LOCAL
SHA2=SHA2.KERBEROS.TEST
# The realm of the tickets a storage account gives for a bearer token (SMB OAuth), as Azure
# names it; its client is AzureFileClient.
AZFILES=FILES.AZURE.STORAGE.MICROSOFT.COM
HOST=acct.file.core.windows.net
ADHOST=acctad.file.core.windows.net
PUBHOST=acctpub.file.core.windows.net   # in the lab DNS: privatelink CNAME, public address
SHORTHOST=acctshort.file.core.windows.net  # its cifs tickets live 45 s (session expiry)
PEHOST=acctpe.privatelink.file.core.windows.net  # a private endpoint's name: only its own SPN
# The Microsoft-like KDC: a Samba AD DC on a loopback address of its own (lab/addc).
ADDC=CONTOSO.TEST
ADDC_ADDR=${AZKRB_LAB_ADDC_ADDR:-127.0.0.5}
DCHOST=acctdc.file.core.windows.net
ADDC_PASSWORD=Passw0rd-dc-alice
ADDC_UPN=alice@contoso.example
ADDC_ADMIN_PASSWORD=Adm1n-Passw0rd-dc
DEBIAN_PY=/usr/bin/python3   # Debian's python: the one that has python3-kdcproxy

PACKAGES="krb5-kdc krb5-admin-server krb5-user krb5-k5tls python3-kdcproxy gunicorn
python3-gunicorn samba samba-ad-dc samba-ad-provision samba-dsdb-modules ldb-tools heimdal-kcm libdhash1 libini-config5 libref-array1 libbasicobjects0 libcollection4 libpath-utils1 smbclient libnss-wrapper openssl iproute2 procps tinyproxy curl fuse3 faketime dnsmasq-base bind9-dnsutils"

ALL_PORTS="$KDC_PORT $PROXY_PORT $SMB_PORT $SMB_PLAIN_PORT $HTTP_PROXY_PORT $DNS_PORT $OAUTH_PORT $IMDS_PORT"

say() { printf '%s\n' "lab: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# True if pid file $1 names a live (non-zombie) process whose command line mentions $2.
pid_is_ours() {
    local file=$1 marker=$2 pid state
    [ -f "$file" ] || return 1
    pid=$(tr -dc 0-9 <"$file")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" != Z ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# The lab's services: name, pid file, a marker that must appear in the process's command line.
services() {
    cat <<SERVICES
krb5kdc $RUN/krb5kdc.pid krb5kdc
kdcproxy $RUN/gunicorn.pid $LAB_DIR/kkdcp
oauth $RUN/oauth.pid $LAB_DIR/oauth/oauth_app.py
kdcproxy-flaky $RUN/gunicorn-flaky.pid $LAB_DIR/kkdcp-flaky
smbd-enc $LAB_DIR/smb/enc/pid/smbd.pid $LAB_DIR/smb/enc/smb.conf
smbd-plain $LAB_DIR/smb/plain/pid/smbd.pid $LAB_DIR/smb/plain/smb.conf
dcerpcd-enc $LAB_DIR/smb/enc/pid/samba-dcerpcd.pid $LAB_DIR/smb/enc/smb.conf
dcerpcd-plain $LAB_DIR/smb/plain/pid/samba-dcerpcd.pid $LAB_DIR/smb/plain/smb.conf
http-proxy $LAB_DIR/httpproxy/tinyproxy.pid $LAB_DIR/httpproxy/tinyproxy.conf
dns $RUN/dnsmasq.pid $LAB_DIR/dns/dnsmasq.conf
addc $LAB_DIR/addc/run/samba.pid samba: root process
addc-smbd $LAB_DIR/addc/run/smbd.pid $LAB_DIR/addc/etc/smb.conf
addc-winbindd $LAB_DIR/addc/run/winbindd.pid $LAB_DIR/addc/etc/smb.conf
kcm $RUN/kcm.pid /usr/sbin/kcm
sssd-kcm $RUN/sssd-kcm.pid $LAB_DIR/sssd/root/usr/libexec/sssd/sssd_kcm
SERVICES
}

# Starts the lab's smbd instance $1 (enc or plain) in the background, as lab/up does.
start_smbd() {
    local lib
    lib=$(dpkg -L libnss-wrapper | grep -m1 'libnss_wrapper.so$') || die "libnss_wrapper.so not found"
    env LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD="$LAB_DIR/smb/passwd" \
        NSS_WRAPPER_GROUP="$LAB_DIR/smb/group" KRB5_CONFIG="$LAB_DIR/krb5.conf" \
        smbd -D -s "$LAB_DIR/smb/$1/smb.conf" || die "smbd ($1) failed (see $LOGDIR/smbd-$1.log)"
}
