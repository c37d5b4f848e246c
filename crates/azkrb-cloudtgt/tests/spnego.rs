//! The SPNEGO initiator on what a server may send: Kerberos not offered, a rejection, no
//! AP-REP, a token that is not SPNEGO, a step out of order. Offline, with MIT's tickets
//! and SPNEGO tokens (tests/fixtures/mit).

use azkrb_asn1::KerberosTime;
use azkrb_asn1::spnego::{NegState, NegTokenInit, NegTokenResp, NegotiationToken, mech};
use azkrb_cloudtgt::ccache::Ccache;
use azkrb_cloudtgt::spnego::SpnegoInitiator;
use azkrb_cloudtgt::{Credential, Error};
use azkrb_test_support::fixtures::{mit, mit_path};

fn cifs_ticket() -> Credential {
    let c = Ccache::load(&mit_path("alice-with-cifs.ccache")).unwrap();
    c.credentials()
        .into_iter()
        .find(|c| c.server.to_string().starts_with("cifs/"))
        .unwrap()
}

fn resp(state: Option<NegState>, token: Option<Vec<u8>>) -> Vec<u8> {
    NegotiationToken::Resp(NegTokenResp {
        neg_state: state,
        supported_mech: None,
        response_token: token.map(Into::into),
        mech_list_mic: None,
    })
    .encode()
    .unwrap()
}

#[test]
fn the_initial_token_is_a_neg_token_init_with_krb5_and_an_ap_req() {
    let mut s = SpnegoInitiator::new(cifs_ticket());
    // MIT's own SPNEGO initial token as the server's hint: it lists krb5.
    let token = s
        .initial_token(&mit("spnego-init.der"), KerberosTime::now())
        .unwrap();
    let NegotiationToken::Init(init) = NegotiationToken::decode(&token).unwrap() else {
        panic!("not a NegTokenInit");
    };
    assert_eq!(init.mech_types.len(), 1);
    assert!(init.mech_token.is_some() && init.mech_list_mic.is_none());
    assert!(
        s.session_key().is_none(),
        "not established before the AP-REP"
    );
}

#[test]
fn a_server_without_kerberos_is_refused_before_any_ticket_is_sent() {
    let ntlm = NegotiationToken::Init(NegTokenInit {
        mech_types: vec![mech(&[1, 3, 6, 1, 4, 1, 311, 2, 2, 10]).unwrap()],
        req_flags: None,
        mech_token: None,
        mech_list_mic: None,
    })
    .encode()
    .unwrap();
    let e = SpnegoInitiator::new(cifs_ticket())
        .initial_token(&ntlm, KerberosTime::now())
        .unwrap_err();
    assert!(e.to_string().contains("does not offer Kerberos"), "{e}");
    let e = SpnegoInitiator::new(cifs_ticket())
        .initial_token(b"\x60\x03garbage", KerberosTime::now())
        .unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e}");
}

#[test]
fn answers_without_mutual_authentication_fail() {
    let started = || {
        let mut s = SpnegoInitiator::new(cifs_ticket());
        s.initial_token(&[], KerberosTime::now()).unwrap();
        s
    };
    // Out of order.
    let e = SpnegoInitiator::new(cifs_ticket())
        .step(&resp(None, None), true)
        .unwrap_err();
    assert!(matches!(e, Error::MutualAuth(_)), "{e}");
    // Rejected, empty, accept-completed without an AP-REP, not SPNEGO, a forged AP-REP.
    let e = started()
        .step(&resp(Some(NegState::Reject), None), true)
        .unwrap_err();
    assert!(e.to_string().contains("rejected"), "{e}");
    let e = started().step(&[], true).unwrap_err();
    assert!(e.to_string().contains("no AP-REP"), "{e}");
    let e = started()
        .step(&resp(Some(NegState::AcceptCompleted), None), true)
        .unwrap_err();
    assert!(matches!(e, Error::MutualAuth(_)), "{e}");
    assert!(started().step(b"\xa1\x02\x30\x00junk", true).is_err());
    // MIT's AP-REP answers another AP-REQ (another subkey and time): refused.
    let e = started().step(&mit("spnego-resp.der"), true).unwrap_err();
    assert!(
        matches!(&e, Error::MutualAuth(m) if m.contains("does not decrypt")),
        "{e:?}"
    );
}
