//! Any bytes as every Kerberos structure a client decodes from the network or from a
//! decrypted enc-part: top-level messages, KDC-REP bodies, AP-REP bodies, authenticators,
//! ticket bodies, KRB-CRED bodies, KRB-ERROR e-data and FAST replies (RFC 6113). A value or an error, never a
//! panic; whatever decodes re-encodes to the same value.
#![no_main]

use azkrb_asn1::fast::{KrbFastResponse, PaFxFastReply};
use azkrb_asn1::krb::{
    Authenticator, EncApRepPart, EncKrbCredPart, EncTicketPart, EtypeInfo2, MethodData, TypedData,
};
use azkrb_asn1::rasn::{Decode, Encode};
use azkrb_asn1::{KerberosMessage, decode, decode_enc_kdc_rep_part, encode};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: Decode + Encode + PartialEq + std::fmt::Debug>(what: &'static str, data: &[u8]) {
    if let Ok(v) = decode::<T>(what, data) {
        let der = encode(what, &v).expect("a decoded value encodes");
        assert_eq!(decode::<T>(what, &der).expect("re-decodes"), v);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = KerberosMessage::from_der(data) {
        let der = m.to_der().expect("a decoded message encodes");
        assert_eq!(KerberosMessage::from_der(&der).expect("re-decodes"), m);
        if let KerberosMessage::KrbError(e) = &m {
            let _ = e.etype_info2();
            let _ = e.typed_data();
        }
    }
    if let Ok((part, _)) = decode_enc_kdc_rep_part(data) {
        let _ = part.flags.names();
    }
    round_trip::<EncApRepPart>("EncAPRepPart", data);
    round_trip::<Authenticator>("Authenticator", data);
    round_trip::<EncTicketPart>("EncTicketPart", data);
    round_trip::<EncKrbCredPart>("EncKrbCredPart", data);
    round_trip::<MethodData>("METHOD-DATA", data);
    round_trip::<EtypeInfo2>("ETYPE-INFO2", data);
    round_trip::<TypedData>("TYPED-DATA", data);
    round_trip::<PaFxFastReply>("PA-FX-FAST-REPLY", data);
    round_trip::<KrbFastResponse>("KrbFastResponse", data);
});
