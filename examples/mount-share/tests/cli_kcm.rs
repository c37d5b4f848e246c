//! `KCM:` caches, as Fedora and RHEL use by default: served by sssd-kcm (theirs) and by
//! Heimdal's kcm, both on the lab's own sockets. mount-share's login is what MIT's klist
//! lists, its service tickets go beside it, and what MIT's kinit puts there is what
//! mount-share uses; a hybrid user's two TGTs are two caches of the daemon's collection.

mod common;

use std::process::Command;

use common::Lab;

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn kcm_caches_of_sssd_kcm_and_heimdal_kcm_are_shared_with_mit_tools() {
    let l = Lab::new("kcm");
    let address = format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]);
    let user = format!("alice@{}", l.env["AZKRB_LAB_REALM"]);
    let password = format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]);
    let host = &l.env["AZKRB_LAB_HOST"];
    for (daemon, socket) in [
        ("sssd-kcm", &l.env["AZKRB_LAB_SSSD_KCM_SOCKET"]),
        ("kcm", &l.env["AZKRB_LAB_KCM_SOCKET"]),
    ] {
        // The lab's krb5.conf files (through the KDC proxy for mount-share, direct for MIT's
        // tools), with this daemon's socket.
        let with_socket = |env_name: &str| {
            let text = std::fs::read_to_string(&l.env[env_name]).unwrap();
            let text: String = text
                .lines()
                .map(|line| {
                    if line.trim_start().starts_with("kcm_socket") {
                        format!(" kcm_socket = {socket}\n")
                    } else {
                        format!("{line}\n")
                    }
                })
                .collect();
            let path = l.dir.join(format!("{daemon}-{env_name}"));
            std::fs::write(&path, text).unwrap();
            path
        };
        let ours = with_socket("AZKRB_LAB_KRB5_CONF");
        let theirs = with_socket("AZKRB_LAB_KRB5_CONF_DIRECT");
        let run = |args: &[&str], stdin: &[u8]| {
            let mut cmd = l.command_with(&address, Some("KCM:"));
            cmd.env("KRB5_CONFIG", &ours).args(args);
            let out = common::fed(&mut cmd, stdin);
            assert!(
                out.status.success(),
                "{daemon}: {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let mit = |tool: &str| {
            let mut c = Command::new(tool);
            c.env("KRB5CCNAME", "KCM:").env("KRB5_CONFIG", &theirs);
            c
        };
        let klist = || String::from_utf8_lossy(&mit("klist").output().unwrap().stdout).into_owned();

        run(&["login", "--password-stdin", &user], password.as_bytes());
        let listed = klist();
        assert!(
            listed.contains("Ticket cache: KCM:")
                && listed.contains(&format!("Default principal: {user}")),
            "{daemon}: {listed}"
        );
        // mount-share's service ticket goes there too, beside the TGT.
        run(&["ticket", &format!("//{host}/share")], b"");
        let listed = klist();
        assert!(
            listed.contains(&format!("cifs/{host}")),
            "{daemon}: {listed}"
        );

        // MIT's kinit replaces it; mount-share reads files with that TGT.
        let kinit = common::fed(mit("kinit").arg(&user), password.as_bytes());
        assert!(
            kinit.status.success(),
            "{daemon}: {}",
            String::from_utf8_lossy(&kinit.stderr)
        );
        run(
            &["ls", &format!("//{host}/{}/", l.env["AZKRB_LAB_SHARE"])],
            b"",
        );
        let ours_listed = run(&["klist"], b"");
        assert!(
            ours_listed.contains("Ticket cache: KCM:"),
            "{daemon}: {ours_listed}"
        );

        // A hybrid user's second login goes to a cache of its own in the daemon's
        // collection (made the default, as kinit does), and each share is reached with the
        // TGT of its realm.
        let ad = format!("alice@{}", l.env["AZKRB_LAB_ADDC_REALM"]);
        run(
            &["login", "--password-stdin", &ad],
            format!("{}\n", l.env["AZKRB_LAB_ADDC_PASSWORD"]).as_bytes(),
        );
        let all =
            String::from_utf8_lossy(&mit("klist").arg("-A").output().unwrap().stdout).into_owned();
        assert!(
            all.contains(&format!("Default principal: {user}"))
                && all.contains(&format!("Default principal: {ad}")),
            "{daemon}: {all}"
        );
        assert!(
            klist().contains(&format!("Default principal: {ad}")),
            "{daemon}"
        );
        run(
            &["ls", &format!("//{host}/{}/", l.env["AZKRB_LAB_SHARE"])],
            b"",
        );
        // Logging in again as the first finds its cache: still two, that one the default.
        run(&["login", "--password-stdin", &user], password.as_bytes());
        let all =
            String::from_utf8_lossy(&mit("klist").arg("-A").output().unwrap().stdout).into_owned();
        assert_eq!(
            all.matches("Default principal:").count(),
            2,
            "{daemon}: {all}"
        );
        assert!(
            klist().contains(&format!("Default principal: {user}")),
            "{daemon}"
        );
        let mut dc = l.command_with(&l.env["AZKRB_LAB_ADDC_SMB"], Some("KCM:"));
        dc.env("KRB5_CONFIG", &ours)
            .args(["ls", &format!("//{}/share/", l.env["AZKRB_LAB_ADDC_HOST"])]);
        let out = dc.output().unwrap();
        assert!(
            out.status.success(),
            "{daemon}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = mit("kdestroy").arg("-A").status();
    }
}
