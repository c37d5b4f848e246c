//! Any bytes as a KDC reply to an AS and to a TGS exchange (plain and FAST-armored), and as ccache, keytab and
//! KRB-CRED files: an error, never a panic.
#![no_main]

use azkrb_asn1::KerberosTime;
use azkrb_cloudtgt::ccache::Ccache;
use azkrb_cloudtgt::keytab::Keytab;
use azkrb_cloudtgt::{AsExchange, AsSecret, Principal, TgsExchange, krbcred};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn tgt() -> &'static Option<azkrb_cloudtgt::Credential> {
    static TGT: OnceLock<Option<azkrb_cloudtgt::Credential>> = OnceLock::new();
    TGT.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/mit/alice.ccache"
        );
        Ccache::load(path).ok().and_then(|c| c.tgt())
    })
}

fuzz_target!(|data: &[u8]| {
    let now = KerberosTime::from_unix(1_800_000_000);
    let client = Principal::parse("alice@KERBEROS.MICROSOFTONLINE.COM", "X").expect("valid");
    if let Ok(mut x) = AsExchange::new(client, AsSecret::Password("pw".to_string().into()), now) {
        let _ = x.handle_reply(data, now);
    }
    if let Some(tgt) = tgt() {
        let mut t = tgt.clone();
        t.endtime = KerberosTime::from_unix(now.unix() + 3600);
        let svc = Principal::cifs("acct.file.core.windows.net", "KERBEROS.MICROSOFTONLINE.COM");
        if let Ok(mut x) = TgsExchange::new(t.clone(), svc.clone(), now) {
            let _ = x.handle_reply(data, now);
        }
        // Armored with FAST: the reply's PA-FX-FAST and an error's are opened too.
        if let Ok(mut x) = TgsExchange::new(t, svc, now)
            .and_then(|x| x.with_armoring(azkrb_cloudtgt::Armoring::required(), now))
        {
            let _ = x.handle_reply(data, now);
        }
    }
    let _ = Ccache::parse("fuzz", data);
    let _ = Keytab::parse("fuzz", data);
    let _ = krbcred::import(data, None);
});
