//! Round-trip property tests: for every top-level type, decode(encode(x)) = x and the
//! re-encoding is byte-identical; and arbitrary or mutated bytes never panic a decoder.

use azkrb_asn1::gss::{
    GssChecksum, InitialContextToken, KRB5_OID, Krb5Token, Krb5TokenId, MicToken, WrapToken,
};
use azkrb_asn1::krb::*;
use azkrb_asn1::spnego::{
    NegHints, NegState, NegTokenInit, NegTokenInit2, NegTokenResp, NegotiationToken, mech,
};
use azkrb_asn1::{
    AdType, AddressType, ApOptions, CksumType, ErrorCode, KdcOptions, KdcProxyMessage,
    KerberosMessage, MessageType, NameType, PaDataType, TicketFlags, decode,
    decode_enc_kdc_rep_part, encode,
};
use proptest::prelude::*;
use rasn::prelude::{OctetString, SequenceOf};

fn kstring() -> impl Strategy<Value = KerberosString> {
    prop_oneof![
        "[A-Za-z0-9./@-]{0,20}".prop_map(|s| KerberosString::from(s.as_str())),
        // Any UTF-8, including characters whose encoding has bytes 0x80..0xA0.
        "\\PC{0,12}".prop_map(KerberosString::from),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(KerberosString::from_bytes),
    ]
}

fn octets(max: usize) -> impl Strategy<Value = OctetString> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(OctetString::from)
}

fn principal() -> impl Strategy<Value = PrincipalName> {
    (any::<i32>(), prop::collection::vec(kstring(), 0..4)).prop_map(|(t, parts)| PrincipalName {
        name_type: NameType::from(t),
        name_string: parts,
    })
}

fn time() -> impl Strategy<Value = KerberosTime> {
    // 1970 .. 9999, whole seconds.
    (-62_135_596_800i64..253_402_300_799).prop_map(KerberosTime::from_unix)
}

fn flags() -> impl Strategy<Value = TicketFlags> {
    any::<u32>().prop_map(TicketFlags)
}

fn kdc_options() -> impl Strategy<Value = KdcOptions> {
    any::<u32>().prop_map(KdcOptions)
}

fn enc_data() -> impl Strategy<Value = EncryptedData> {
    (any::<i32>(), prop::option::of(any::<u32>()), octets(64)).prop_map(|(etype, kvno, cipher)| {
        EncryptedData {
            etype,
            kvno,
            cipher,
        }
    })
}

fn enc_key() -> impl Strategy<Value = EncryptionKey> {
    (any::<i32>(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(t, v)| EncryptionKey {
        keytype: t,
        keyvalue: KeyValue::new(v),
    })
}

fn pa_data() -> impl Strategy<Value = PaData> {
    (any::<i32>(), octets(40)).prop_map(|(t, v)| PaData {
        padata_type: PaDataType::from(t),
        padata_value: v,
    })
}

fn addresses() -> impl Strategy<Value = Option<HostAddresses>> {
    prop::option::of(prop::collection::vec(
        (any::<i32>(), octets(16)).prop_map(|(t, a)| HostAddress {
            addr_type: AddressType::from(t),
            address: a,
        }),
        0..3,
    ))
}

fn ticket() -> impl Strategy<Value = Ticket> {
    (kstring(), principal(), enc_data()).prop_map(|(realm, sname, enc_part)| Ticket {
        tkt_vno: 5,
        realm,
        sname,
        enc_part,
    })
}

fn req_body() -> impl Strategy<Value = KdcReqBody> {
    (
        (
            kdc_options(),
            prop::option::of(principal()),
            kstring(),
            prop::option::of(principal()),
        ),
        (
            prop::option::of(time()),
            time(),
            prop::option::of(time()),
            any::<u32>(),
        ),
        (
            prop::collection::vec(any::<i32>(), 0..5),
            addresses(),
            prop::option::of(enc_data()),
            prop::option::of(prop::collection::vec(ticket(), 0..2)),
        ),
    )
        .prop_map(
            |((o, c, r, s), (f, t, rt, n), (e, a, ead, at))| KdcReqBody {
                kdc_options: o,
                cname: c,
                realm: r,
                sname: s,
                from: f,
                till: t,
                rtime: rt,
                nonce: n,
                etype: e,
                addresses: a,
                enc_authorization_data: ead,
                additional_tickets: at,
            },
        )
}

fn kdc_req(msg_type: MessageType) -> impl Strategy<Value = KdcReq> {
    (
        prop::option::of(prop::collection::vec(pa_data(), 0..3)),
        req_body(),
    )
        .prop_map(move |(padata, req_body)| KdcReq {
            pvno: 5,
            msg_type,
            padata,
            req_body,
        })
}

fn kdc_rep(msg_type: MessageType) -> impl Strategy<Value = KdcRep> {
    (
        prop::option::of(prop::collection::vec(pa_data(), 0..3)),
        kstring(),
        principal(),
        ticket(),
        enc_data(),
    )
        .prop_map(move |(padata, crealm, cname, ticket, enc_part)| KdcRep {
            pvno: 5,
            msg_type,
            padata,
            crealm,
            cname,
            ticket,
            enc_part,
        })
}

fn enc_kdc_rep_part() -> impl Strategy<Value = EncKdcRepPart> {
    (
        (enc_key(), any::<u32>(), prop::option::of(time()), flags()),
        (
            time(),
            prop::option::of(time()),
            time(),
            prop::option::of(time()),
        ),
        (kstring(), principal(), addresses()),
    )
        .prop_map(
            |((key, nonce, ke, fl), (at, st, et, rt), (sr, sn, ca))| EncKdcRepPart {
                key,
                last_req: vec![LastReqValue {
                    lr_type: 0,
                    lr_value: KerberosTime::from_unix(0),
                }],
                nonce,
                key_expiration: ke,
                flags: fl,
                authtime: at,
                starttime: st,
                endtime: et,
                renew_till: rt,
                srealm: sr,
                sname: sn,
                caddr: ca,
                encrypted_pa_data: if nonce % 2 == 0 {
                    Some(vec![PaData {
                        padata_type: PaDataType::ReqEncPaRep,
                        padata_value: OctetString::from_static(b"x"),
                    }])
                } else {
                    None
                },
            },
        )
}

fn authenticator() -> impl Strategy<Value = Authenticator> {
    (
        kstring(),
        principal(),
        prop::option::of((any::<i32>(), octets(40)).prop_map(|(t, c)| Checksum {
            cksumtype: CksumType::from(t),
            checksum: c,
        })),
        0u32..1_000_000,
        time(),
        prop::option::of(enc_key()),
        prop::option::of(any::<u32>().prop_map(SeqNumber)),
        prop::option::of(prop::collection::vec(
            (any::<i32>(), octets(30)).prop_map(|(t, d)| AuthorizationDataValue {
                ad_type: AdType::from(t),
                ad_data: d,
            }),
            0..3,
        )),
    )
        .prop_map(
            |(crealm, cname, cksum, cusec, ctime, subkey, seq_number, authorization_data)| {
                Authenticator {
                    authenticator_vno: 5,
                    crealm,
                    cname,
                    cksum,
                    cusec,
                    ctime,
                    subkey,
                    seq_number,
                    authorization_data,
                }
            },
        )
}

fn krb_error() -> impl Strategy<Value = KrbError> {
    (
        (
            prop::option::of(time()),
            prop::option::of(0u32..1_000_000),
            time(),
            0u32..1_000_000,
        ),
        (
            any::<i32>(),
            prop::option::of(kstring()),
            prop::option::of(principal()),
        ),
        (
            kstring(),
            principal(),
            prop::option::of(kstring()),
            prop::option::of(octets(60)),
        ),
    )
        .prop_map(
            |((ct, cu, st, su), (code, cr, cn), (r, sn, et, ed))| KrbError {
                pvno: 5,
                msg_type: MessageType::KrbError,
                ctime: ct,
                cusec: cu,
                stime: st,
                susec: su,
                error_code: ErrorCode::from(code),
                crealm: cr,
                cname: cn,
                realm: r,
                sname: sn,
                e_text: et,
                e_data: ed,
            },
        )
}

fn cred_info() -> impl Strategy<Value = KrbCredInfo> {
    (
        enc_key(),
        prop::option::of(kstring()),
        prop::option::of(principal()),
        prop::option::of(flags()),
        prop::option::of(time()),
    )
        .prop_map(|(key, prealm, pname, flags, endtime)| KrbCredInfo {
            key,
            prealm,
            pname,
            flags,
            authtime: None,
            starttime: None,
            endtime,
            renew_till: None,
            srealm: None,
            sname: None,
            caddr: None,
        })
}

fn oid_list() -> impl Strategy<Value = SequenceOf<rasn::types::ObjectIdentifier>> {
    prop::collection::vec(
        prop::sample::select(vec![
            azkrb_asn1::gss::KRB5_OID,
            azkrb_asn1::gss::MS_KRB5_OID,
            azkrb_asn1::gss::NTLMSSP_OID,
            azkrb_asn1::gss::NEGOEX_OID,
        ])
        .prop_map(|arcs| mech(arcs).unwrap()),
        1..4,
    )
}

/// decode(encode(x)) == x, and encode(decode(encode(x))) == encode(x).
fn round_trip<T>(what: &'static str, value: &T) -> Result<(), TestCaseError>
where
    T: rasn::Encode + rasn::Decode + PartialEq + std::fmt::Debug,
{
    let der = encode(what, value).unwrap();
    let back: T = decode(what, &der).unwrap();
    prop_assert_eq!(&back, value);
    prop_assert_eq!(encode(what, &back).unwrap(), der);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn as_req(r in kdc_req(MessageType::AsReq)) {
        round_trip("AS-REQ", &AsReq(r.clone()))?;
        let der = encode("AS-REQ", &AsReq(r)).unwrap();
        prop_assert!(matches!(KerberosMessage::from_der(&der).unwrap(), KerberosMessage::AsReq(_)));
    }

    #[test]
    fn tgs_req(r in kdc_req(MessageType::TgsReq)) {
        round_trip("TGS-REQ", &TgsReq(r))?;
    }

    #[test]
    fn as_rep_and_tgs_rep(a in kdc_rep(MessageType::AsRep), t in kdc_rep(MessageType::TgsRep)) {
        round_trip("AS-REP", &AsRep(a))?;
        round_trip("TGS-REP", &TgsRep(t))?;
    }

    #[test]
    fn enc_kdc_rep_parts_with_either_tag(p in enc_kdc_rep_part()) {
        round_trip("EncASRepPart", &EncAsRepPart(p.clone()))?;
        round_trip("EncTGSRepPart", &EncTgsRepPart(p.clone()))?;
        let as_der = encode("EncASRepPart", &EncAsRepPart(p.clone())).unwrap();
        let tgs_der = encode("EncTGSRepPart", &EncTgsRepPart(p.clone())).unwrap();
        prop_assert_eq!(&decode_enc_kdc_rep_part(&as_der).unwrap().0, &p);
        prop_assert_eq!(&decode_enc_kdc_rep_part(&tgs_der).unwrap().0, &p);
    }

    #[test]
    fn ap_req_and_authenticator(t in ticket(), opts in any::<u32>().prop_map(ApOptions), auth in authenticator(), e in enc_data()) {
        round_trip("AP-REQ", &ApReq { pvno: 5, msg_type: MessageType::ApReq, ap_options: opts, ticket: t.clone(), authenticator: e.clone() })?;
        round_trip("Authenticator", &auth)?;
        round_trip("Ticket", &t)?;
    }

    #[test]
    fn ap_rep_and_enc_part(e in enc_data(), ctime in time(), cusec in 0u32..1_000_000, subkey in prop::option::of(enc_key()), seq in prop::option::of(any::<u32>().prop_map(SeqNumber))) {
        round_trip("AP-REP", &ApRep { pvno: 5, msg_type: MessageType::ApRep, enc_part: e })?;
        round_trip("EncAPRepPart", &EncApRepPart { ctime, cusec, subkey, seq_number: seq })?;
    }

    #[test]
    fn krb_error_round_trips(e in krb_error()) {
        round_trip("KRB-ERROR", &e)?;
    }

    #[test]
    fn krb_cred(tickets in prop::collection::vec(ticket(), 0..3), e in enc_data(), infos in prop::collection::vec(cred_info(), 0..3), nonce in prop::option::of(any::<u32>())) {
        round_trip("KRB-CRED", &KrbCred { pvno: 5, msg_type: MessageType::KrbCred, tickets, enc_part: e })?;
        round_trip("EncKrbCredPart", &EncKrbCredPart { ticket_info: infos, nonce, timestamp: Some(KerberosTime::from_unix(1_800_000_000)), usec: Some(999_999), s_address: Some(HostAddress { addr_type: AddressType::Ipv4, address: OctetString::from_static(&[127, 0, 0, 1]) }), r_address: None })?;
    }

    #[test]
    fn enc_ticket_part(key in enc_key(), crealm in kstring(), cname in principal(), fl in flags(), at in time(), et in time(), ad in prop::option::of(prop::collection::vec((any::<i32>(), octets(30)).prop_map(|(t, d)| AuthorizationDataValue { ad_type: AdType::from(t), ad_data: d }), 0..3))) {
        round_trip("EncTicketPart", &EncTicketPart {
            flags: fl, key, crealm, cname,
            transited: TransitedEncoding { r#type: 1, contents: OctetString::from_static(b"") },
            authtime: at, starttime: None, endtime: et, renew_till: None, caddr: None,
            authorization_data: ad,
        })?;
    }

    #[test]
    fn pa_types(etype in any::<i32>(), salt in prop::option::of(kstring()), params in prop::option::of(octets(8)), include in any::<bool>(), ts in time(), usec in prop::option::of(0u32..1_000_000)) {
        round_trip("ETYPE-INFO2", &vec![EtypeInfo2Entry { etype, salt, s2kparams: params }])?;
        round_trip("PA-PAC-REQUEST", &PaPacRequest { include_pac: include })?;
        round_trip("PA-ENC-TS-ENC", &PaEncTsEnc { patimestamp: ts, pausec: usec })?;
    }

    #[test]
    fn kdc_proxy_message(msg in prop::collection::vec(any::<u8>(), 0..300), realm in prop::option::of("[A-Z.]{1,30}"), hint in prop::option::of(any::<i64>())) {
        let mut m = KdcProxyMessage::new(&msg, realm.as_deref());
        m.dclocator_hint = hint;
        let der = m.to_der().unwrap();
        let back = KdcProxyMessage::from_der(&der).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.message().unwrap(), &msg[..]);
        prop_assert_eq!(back.to_der().unwrap(), der);
    }

    #[test]
    fn spnego_tokens(mechs in oid_list(), tok in prop::option::of(octets(100)), mic in prop::option::of(octets(30)), state in prop::option::of(prop::sample::select(vec![NegState::AcceptCompleted, NegState::AcceptIncomplete, NegState::Reject, NegState::RequestMic])), hint in prop::option::of(kstring()), flags in prop::option::of(any::<u8>())) {
        let req_flags = flags.map(|f| rasn::types::BitString::from_slice(&[f]));
        let init = NegotiationToken::Init(NegTokenInit { mech_types: mechs.clone(), req_flags: req_flags.clone(), mech_token: tok.clone(), mech_list_mic: mic.clone() });
        let bytes = init.encode().unwrap();
        prop_assert_eq!(&NegotiationToken::decode(&bytes).unwrap(), &init);
        prop_assert_eq!(NegotiationToken::decode(&bytes).unwrap().encode().unwrap(), bytes);
        let init2 = NegotiationToken::Init2(NegTokenInit2 { mech_types: mechs.clone(), req_flags, mech_token: tok.clone(), neg_hints: Some(NegHints { hint_name: hint, hint_address: None }), mech_list_mic: mic.clone() });
        let bytes = init2.encode().unwrap();
        prop_assert_eq!(&NegotiationToken::decode(&bytes).unwrap(), &init2);
        prop_assert_eq!(NegotiationToken::decode(&bytes).unwrap().encode().unwrap(), bytes);
        let resp = NegotiationToken::Resp(NegTokenResp { neg_state: state, supported_mech: mechs.first().cloned(), response_token: tok, mech_list_mic: mic });
        let bytes = resp.encode().unwrap();
        prop_assert_eq!(&NegotiationToken::decode(&bytes).unwrap(), &resp);
        prop_assert_eq!(NegotiationToken::decode(&bytes).unwrap().encode().unwrap(), bytes);
    }

    #[test]
    fn gss_tokens(inner in prop::collection::vec(any::<u8>(), 0..400), flags in any::<u8>(), seq in any::<u64>(), ec in any::<u16>(), rrc in any::<u16>(), cflags in any::<u32>(), deleg in prop::option::of((any::<u16>(), prop::collection::vec(any::<u8>(), 0..100)))) {
        let t = InitialContextToken::new(KRB5_OID, inner.clone());
        let enc = t.encode();
        prop_assert_eq!(&InitialContextToken::decode(&enc).unwrap(), &t);
        let k = Krb5Token { id: Krb5TokenId::ApReq, message: inner.clone() };
        prop_assert_eq!(&Krb5Token::decode(&k.encode_framed()).unwrap(), &k);
        prop_assert_eq!(&Krb5Token::decode(&k.encode_bare()).unwrap(), &k);
        let mic = MicToken { flags, snd_seq: seq, checksum: inner.clone() };
        prop_assert_eq!(&MicToken::decode(&mic.encode()).unwrap(), &mic);
        let wrap = WrapToken { flags, ec, rrc, snd_seq: seq, data: inner };
        prop_assert_eq!(&WrapToken::decode(&wrap.encode()).unwrap(), &wrap);
        let cflags = if deleg.is_some() { cflags | 1 } else { cflags & !1 };
        let ck = GssChecksum { bnd: [7; 16], flags: cflags, delegation: deleg, extensions: vec![] };
        prop_assert_eq!(&GssChecksum::decode(&ck.encode().unwrap()).unwrap(), &ck);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = KerberosMessage::from_der(&bytes);
        let _ = decode_enc_kdc_rep_part(&bytes);
        let _ = KdcProxyMessage::from_der(&bytes);
        let _ = NegotiationToken::decode(&bytes);
        let _ = InitialContextToken::decode(&bytes);
        let _ = Krb5Token::decode(&bytes);
        let _ = MicToken::decode(&bytes);
        let _ = WrapToken::decode(&bytes);
        let _ = GssChecksum::decode(&bytes);
        let _ = azkrb_asn1::pac::Pac::decode(&bytes);
        let _ = decode::<Authenticator>("Authenticator", &bytes);
        let _ = decode::<EncApRepPart>("EncAPRepPart", &bytes);
        let _ = decode::<EncTicketPart>("EncTicketPart", &bytes);
        let _ = decode::<EncKrbCredPart>("EncKrbCredPart", &bytes);
        let _ = decode::<MethodData>("METHOD-DATA", &bytes);
        let _ = decode::<EtypeInfo2>("ETYPE-INFO2", &bytes);
        let _ = decode::<TypedData>("TYPED-DATA", &bytes);
    }

    #[test]
    fn mutated_messages_never_panic(e in krb_error(), pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut der = encode("KRB-ERROR", &e).unwrap();
        let i = pos.index(der.len());
        der[i] = byte;
        let _ = KerberosMessage::from_der(&der);
        let n = cut.index(der.len());
        prop_assert!(KerberosMessage::from_der(&der[..n]).is_err());
    }
}

#[test]
fn flags_are_always_32_bits() {
    assert_eq!(
        encode("KDCOptions", &KdcOptions::empty()).unwrap(),
        [0x03, 0x05, 0x00, 0, 0, 0, 0]
    );
    assert_eq!(
        encode(
            "TicketFlags",
            &(TicketFlags::FORWARDABLE | TicketFlags::PRE_AUTHENT)
        )
        .unwrap(),
        [0x03, 0x05, 0x00, 0x40, 0x20, 0, 0]
    );
    // A shorter BIT STRING from a peer still decodes (missing bits are zero).
    let short: ApOptions = decode("APOptions", &[0x03, 0x02, 0x00, 0x20]).unwrap();
    assert!(short.contains(ApOptions::MUTUAL_REQUIRED));
}

#[test]
fn kerberos_time_is_whole_seconds_and_bounded() {
    assert_eq!(
        encode("KerberosTime", &KerberosTime::from_unix(1_800_000_000)).unwrap(),
        b"\x18\x0f20270115080000Z"
    );
    assert!(encode("KerberosTime", &KerberosTime::from_unix(i64::MAX)).is_err());
    assert_eq!(
        KerberosTime::from_unix(0).to_string(),
        "1970-01-01T00:00:00Z"
    );
}

#[test]
fn negative_sequence_numbers_are_accepted_as_unsigned() {
    // INTEGER -1 (some peers encode seq-number as a signed 32-bit value).
    let s: SeqNumber = decode("seq-number", &[0x02, 0x01, 0xff]).unwrap();
    assert_eq!(s, SeqNumber(u32::MAX));
    assert_eq!(
        encode("seq-number", &s).unwrap(),
        [0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff]
    );
    assert!(decode::<SeqNumber>("seq-number", &[0x02, 0x05, 0x01, 0, 0, 0, 0]).is_err());
}

#[test]
fn key_values_are_redacted() {
    let k = EncryptionKey {
        keytype: 18,
        keyvalue: KeyValue::new(vec![0xAB; 32]),
    };
    let shown = format!("{k:?}");
    assert!(
        shown.contains("redacted") && !shown.contains("171"),
        "{shown}"
    );
}
