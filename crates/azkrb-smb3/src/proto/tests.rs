//! The core on forged, replayed and malformed frames, no network: each is a typed error and
//! a failed core, none reaches a caller as data.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::*;
use crate::crypto::{AeadKey, PreauthHash};
use crate::dialect::{Cipher, SigningAlgorithm};
use crate::msg::{self, FileId, NegotiateOptions};

const SID: u64 = 0x4400_0000_0001;
const TREE: u32 = 7;
const SIGN_KEY: [u8; 16] = [0x51; 16];
const C2S: [u8; 32] = [0x11; 32];
const S2C: [u8; 32] = [0x22; 32];

/// A core with one established session (encrypting with AES-256-GCM, or signing only).
fn core(encrypt: bool) -> Core {
    let mut c = Core::new([1, 2, 3, 4], Instant::now());
    // The NEGOTIATE exchange granted credits.
    c.window.grant(100);
    let cipher = encrypt.then_some((Cipher::Aes256Gcm, &C2S[..], &S2C[..]));
    let p = SessionProtection::new(
        SigningAlgorithm::AesCmac,
        Zeroizing::new(SIGN_KEY.to_vec()),
        cipher,
    )
    .unwrap();
    c.add_session(SID, p).unwrap();
    c
}

/// Starts and seals a request; returns its MessageId.
fn send(c: &mut Core, command: Command, tree: u32) -> u64 {
    let mut out = Outgoing::message(&msg::read_request(FileId([3; 16]), 0, 4096));
    let Start::Ready(t) = c.start(&[Request::new(command, SID, tree)], &out).unwrap() else {
        panic!("no credits")
    };
    t.seal(&mut out).unwrap().0[0]
}

/// A server response: header fields as given, then a READ response body with `data`.
fn response(command: Command, message_id: u64, session_id: u64, tree: u32, data: &[u8]) -> Vec<u8> {
    let mut h = Header::request(command, session_id, tree);
    h.flags = flags::SERVER_TO_REDIR;
    h.message_id = message_id;
    h.credits = 1;
    let mut m = Vec::new();
    h.encode(&mut m);
    m.extend_from_slice(&17u16.to_le_bytes());
    m.push(80);
    m.push(0);
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(data);
    m
}

fn signed(mut m: Vec<u8>) -> Vec<u8> {
    crypto::sign(SigningAlgorithm::AesCmac, &SIGN_KEY, &mut m, true).unwrap();
    m
}

fn encrypted(m: &[u8], session_id: u64) -> Vec<u8> {
    let key = AeadKey::new(Cipher::Aes256Gcm, &S2C).unwrap();
    let mut nonce = [0u8; 16];
    nonce[0] = 9;
    crypto::encrypt(&key, session_id, &nonce, m).unwrap()
}

/// The frame fails the core with a protocol violation whose message names `what`.
fn refused(c: &mut Core, mut frame: Vec<u8>, what: &str) {
    let e = c.handle_frame(&mut frame, Instant::now()).unwrap_err();
    assert!(
        matches!(e, Error::Protocol(_)) && e.to_string().contains(what),
        "{e}"
    );
    assert!(c.failed().is_some(), "the core failed");
    // Nothing more is accepted or sent.
    let mut out = Outgoing::message(&msg::small_request());
    assert!(c.start(&[Request::new(Command::Echo, 0, 0)], &out).is_err());
    assert!(c.handle_frame(&mut out.buf, Instant::now()).is_err());
}

fn delivered(c: &mut Core, mut frame: Vec<u8>) -> Vec<Event> {
    c.handle_frame(&mut frame, Instant::now()).unwrap()
}

#[test]
fn forged_plaintext_in_an_encrypted_session_with_any_session_id_is_refused() {
    for forged_sid in [0, 0xdead_beef, SID] {
        let mut c = core(true);
        let id = send(&mut c, Command::Read, TREE);
        let m = response(Command::Read, id, forged_sid, TREE, b"FORGED");
        refused(
            &mut c,
            m,
            if forged_sid == SID {
                "unprotected"
            } else {
                "session"
            },
        );
    }
}

#[test]
fn an_encrypted_answer_is_delivered_and_credits_come_back() {
    let mut c = core(true);
    let before = c.credits();
    let id = send(&mut c, Command::Read, TREE);
    assert_eq!(c.credits(), before - 1);
    let events = delivered(
        &mut c,
        encrypted(&response(Command::Read, id, SID, TREE, b"real"), SID),
    );
    let [
        Event::Response {
            header,
            range,
            encrypted: by_transform,
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert!(by_transform);
    assert_eq!(header.message_id, id);
    assert_eq!(range.start, crypto::TRANSFORM_LEN);
    assert_eq!(c.credits(), before);
    // Replayed: the same answer again awaits no request.
    let e = c
        .handle_frame(
            &mut encrypted(&response(Command::Read, id, SID, TREE, b"real"), SID),
            Instant::now(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("no request awaits"), "{e}");
}

#[test]
fn wrong_command_session_tree_or_direction_is_refused() {
    type Forge = fn(u64) -> Vec<u8>;
    let cases: [(&str, Forge); 4] = [
        ("WRITE response to a READ", |id| {
            response(Command::Write, id, SID, TREE, b"")
        }),
        ("for tree", |id| {
            response(Command::Read, id, SID, TREE + 1, b"x")
        }),
        ("SessionId", |id| {
            response(Command::Read, id, SID + 1, TREE, b"x")
        }),
        ("SERVER_TO_REDIR", |id| {
            let mut m = response(Command::Read, id, SID, TREE, b"x");
            m[16] = 0;
            m
        }),
    ];
    for (what, make) in cases {
        let mut c = core(true);
        let id = send(&mut c, Command::Read, TREE);
        // Inside a valid encryption under the session: the binding itself must refuse it.
        let inner = make(id);
        refused(&mut c, encrypted(&inner, SID), what);
    }
    // An inner SessionId that differs from the transform's.
    let mut c = core(true);
    let id = send(&mut c, Command::Read, TREE);
    let m = response(Command::Read, id, 0, TREE, b"x");
    refused(&mut c, encrypted(&m, SID), "inside a message encrypted for");
}

#[test]
fn a_bad_aead_tag_or_an_unknown_encrypting_session_is_refused() {
    let mut c = core(true);
    let id = send(&mut c, Command::Read, TREE);
    let mut f = encrypted(&response(Command::Read, id, SID, TREE, b"real"), SID);
    let last = f.len() - 1;
    f[last] ^= 1;
    refused(&mut c, f, "integrity");
    let mut c = core(true);
    let id = send(&mut c, Command::Read, TREE);
    let f = encrypted(&response(Command::Read, id, SID, TREE, b"x"), SID + 5);
    refused(&mut c, f, "does not encrypt here");
}

#[test]
fn in_a_signed_session_unsigned_and_badly_signed_answers_are_refused() {
    let mut c = core(false);
    let id = send(&mut c, Command::Read, TREE);
    refused(
        &mut c,
        response(Command::Read, id, SID, TREE, b"x"),
        "unprotected",
    );
    let mut c = core(false);
    let id = send(&mut c, Command::Read, TREE);
    let mut m = signed(response(Command::Read, id, SID, TREE, b"x"));
    let last = m.len() - 1;
    m[last] ^= 1;
    refused(&mut c, m, "bad signature");
    // Correctly signed: delivered. An unsigned interim answer is allowed, and only as one.
    let mut c = core(false);
    let id = send(&mut c, Command::Read, TREE);
    let mut interim = response(Command::Read, id, SID, 0, b"");
    interim[8..12].copy_from_slice(&NtStatus::PENDING.0.to_le_bytes());
    interim[16] |= flags::ASYNC as u8;
    interim[32..40].copy_from_slice(&77u64.to_le_bytes());
    let ev = delivered(&mut c, interim);
    assert_eq!(
        ev,
        vec![Event::Interim {
            message_id: id,
            async_id: 77
        }]
    );
    let ev = delivered(
        &mut c,
        signed(response(Command::Read, id, SID, TREE, b"ok")),
    );
    assert!(matches!(ev[..], [Event::Response { .. }]));
}

#[test]
fn reordered_answers_are_bound_by_message_id_and_compounds_split() {
    let mut c = core(true);
    let a = send(&mut c, Command::Read, TREE);
    let b = send(&mut c, Command::Read, TREE);
    // b's answer first, then a's: each to its own request.
    let ev = delivered(
        &mut c,
        encrypted(&response(Command::Read, b, SID, TREE, b"b"), SID),
    );
    assert!(matches!(&ev[..], [Event::Response { header, .. }] if header.message_id == b));
    let ev = delivered(
        &mut c,
        encrypted(&response(Command::Read, a, SID, TREE, b"a"), SID),
    );
    assert!(matches!(&ev[..], [Event::Response { header, .. }] if header.message_id == a));
    // Two answers chained in one encrypted frame.
    let x = send(&mut c, Command::Read, TREE);
    let y = send(&mut c, Command::Read, TREE);
    let mut first = response(Command::Read, x, SID, TREE, b"xx");
    while !first.len().is_multiple_of(8) {
        first.push(0);
    }
    let n = first.len() as u32;
    first[20..24].copy_from_slice(&n.to_le_bytes());
    first.extend_from_slice(&response(Command::Read, y, SID, TREE, b"y"));
    let ev = delivered(&mut c, encrypted(&first, SID));
    assert_eq!(ev.len(), 2);
    // A NextCommand that is not aligned, or points backwards into the header: malformed.
    let z = send(&mut c, Command::Read, TREE);
    let mut bad = response(Command::Read, z, SID, TREE, b"zz");
    bad[20..24].copy_from_slice(&3u32.to_le_bytes());
    refused(&mut c, encrypted(&bad, SID), "NextCommand");
}

#[test]
fn zero_credits_with_nothing_outstanding_fails_the_connection() {
    let mut c = core(true);
    // Spend every credit but one on requests, answered with no grant at all.
    let id = send(&mut c, Command::Read, TREE);
    let spend = c.credits();
    c.window.reserve(&vec![1; spend as usize]);
    let mut m = response(Command::Read, id, SID, TREE, b"x");
    m[14..16].copy_from_slice(&0u16.to_le_bytes());
    refused(&mut c, encrypted(&m, SID), "without credits");
}

#[test]
fn a_grant_never_grows_credits_without_bound() {
    let mut c = core(true);
    for _ in 0..100 {
        c.window.grant(u16::MAX);
    }
    assert_eq!(c.credits(), window::Window::MAX_CREDITS);
}

#[test]
fn credits_run_out_and_messages_too_large_are_refused_before_ids_are_taken() {
    let mut c = core(true);
    let mut big = Outgoing::single(Vec::new(), 0);
    big.payload().resize(MAX_FRAME + 1, 0);
    let e = c
        .start(&[Request::new(Command::Write, SID, TREE)], &big)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    // With a request outstanding (its answer may grant more), a request needing more than
    // is held waits.
    send(&mut c, Command::Read, TREE);
    let held = c.credits();
    let out = Outgoing::message(&msg::small_request());
    let mut r = Request::new(Command::Read, SID, TREE);
    r.charge = u16::try_from(held + 1).unwrap();
    assert!(matches!(
        c.start(&[r], &out).unwrap(),
        Start::NeedCredits(_)
    ));
    assert_eq!(c.credits(), held, "nothing taken");
    // A request in no session, or a session this connection does not have.
    assert!(
        c.start(&[Request::new(Command::Read, SID + 1, TREE)], &out)
            .is_err()
    );
}

#[test]
fn an_abandoned_request_answer_is_checked_counted_and_not_delivered() {
    let mut c = core(true);
    let id = send(&mut c, Command::Read, TREE);
    c.abandon(id).unwrap();
    let cancel = c
        .cancel(id)
        .unwrap()
        .expect("a CANCEL for an outstanding request");
    assert!(
        cancel.starts_with(&crypto::TRANSFORM_ID),
        "encrypted like its session"
    );
    let before = c.credits();
    let ev = delivered(
        &mut c,
        encrypted(&response(Command::Read, id, SID, TREE, b"x"), SID),
    );
    assert!(ev.is_empty());
    assert_eq!(c.credits(), before + 1);
    // A forged answer to an abandoned request still fails the connection.
    let id = send(&mut c, Command::Read, TREE);
    c.abandon(id).unwrap();
    refused(
        &mut c,
        response(Command::Read, id, SID, TREE, b"x"),
        "unprotected",
    );
}

#[test]
fn too_many_abandoned_requests_fail_the_connection() {
    let mut c = core(true);
    c.window.grant(u16::MAX);
    let mut last = Ok(());
    for _ in 0..=window::Window::MAX_ABANDONED {
        let id = send(&mut c, Command::Read, TREE);
        last = c.abandon(id);
    }
    assert!(last.is_err());
    assert!(c.failed().is_some());
}

#[test]
fn the_keepalive_echoes_after_silence_and_declares_a_silent_peer_dead() {
    let t0 = Instant::now();
    let mut c = Core::new([0; 4], t0);
    c.set_keepalive(Duration::from_secs(10), Duration::from_secs(5));
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(9)),
        Keepalive::Idle
    );
    assert_eq!(c.keepalive_deadline(), t0 + Duration::from_secs(10));
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(10)),
        Keepalive::SendEcho
    );
    // The ECHO is answered: the clock starts again from the answer.
    let mut out = Outgoing::message(&msg::small_request());
    let Start::Ready(t) = c.start(&[Request::new(Command::Echo, 0, 0)], &out).unwrap() else {
        panic!()
    };
    let id = t.seal(&mut out).unwrap().0[0];
    let mut h = Header::request(Command::Echo, 0, 0);
    h.flags = flags::SERVER_TO_REDIR;
    h.message_id = id;
    h.credits = 1;
    let mut m = Vec::new();
    h.encode(&mut m);
    m.extend_from_slice(&msg::small_request());
    c.accept(&m, None, t0 + Duration::from_secs(12)).unwrap();
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(14)),
        Keepalive::Idle
    );
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(22)),
        Keepalive::SendEcho
    );
    // This one goes unanswered.
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(26)),
        Keepalive::Idle
    );
    assert!(matches!(
        c.poll_keepalive(t0 + Duration::from_secs(27)),
        Keepalive::Dead(_)
    ));
    assert!(c.failed().unwrap().contains("has not answered"));
}

#[test]
fn a_downgraded_negotiate_is_refused() {
    let offer = NegotiateOptions::default();
    assert_eq!(
        offer.dialects,
        vec![Dialect::Smb311],
        "3.1.1 only by default"
    );
    let n = Negotiation::new(offer, [1; 16], [2; 32]).unwrap();
    let sent = n.request().unwrap();
    // A server (or the path) answering 3.0.2 to a 3.1.1-only offer.
    let mut h = Header::request(Command::Negotiate, 0, 0);
    h.flags = flags::SERVER_TO_REDIR;
    let mut m = Vec::new();
    h.encode(&mut m);
    let mut body = vec![0u8; 64];
    body[..2].copy_from_slice(&65u16.to_le_bytes());
    body[4..6].copy_from_slice(&0x0302u16.to_le_bytes());
    for at in [28, 32, 36] {
        body[at..at + 4].copy_from_slice(&65536u32.to_le_bytes());
    }
    m.extend_from_slice(&body);
    let e = n.handle_response(&sent, &m).unwrap_err();
    assert!(e.to_string().contains("not offered"), "{e}");
}

#[test]
fn validate_negotiate_info_must_repeat_what_negotiate_said() {
    let offer = NegotiateOptions {
        dialects: vec![Dialect::Smb311, Dialect::Smb302],
        ..Default::default()
    };
    let said = msg::NegotiateResponse {
        security_mode: 1,
        dialect: Dialect::Smb302,
        server_guid: [9; 16],
        capabilities: 0x44,
        max_transact: 65536,
        max_read: 65536,
        max_write: 65536,
        security_blob: Vec::new(),
        cipher: None,
        signing: None,
        preauth_hash: None,
    };
    let n = Negotiated {
        response: said,
        preauth: PreauthHash::default(),
        offer,
        client_guid: [1; 16],
    };
    assert!(n.needs_validation());
    let req = n.validate_request().unwrap();
    assert_eq!(&req[4..8], &FSCTL_VALIDATE_NEGOTIATE_INFO.to_le_bytes());
    let answer = |dialect: u16, guid: [u8; 16]| {
        let mut h = Header::request(Command::Ioctl, SID, TREE);
        h.flags = flags::SERVER_TO_REDIR;
        let mut m = Vec::new();
        h.encode(&mut m);
        let mut b = vec![0u8; 48];
        b[..2].copy_from_slice(&49u16.to_le_bytes());
        b[4..8].copy_from_slice(&FSCTL_VALIDATE_NEGOTIATE_INFO.to_le_bytes());
        b[32..36].copy_from_slice(&(64u32 + 48).to_le_bytes());
        b[36..40].copy_from_slice(&24u32.to_le_bytes());
        m.extend_from_slice(&b);
        m.extend_from_slice(&0x44u32.to_le_bytes());
        m.extend_from_slice(&guid);
        m.extend_from_slice(&1u16.to_le_bytes());
        m.extend_from_slice(&dialect.to_le_bytes());
        m
    };
    n.check_validation(&answer(0x0302, [9; 16])).unwrap();
    assert!(n.check_validation(&answer(0x0300, [9; 16])).is_err());
    assert!(n.check_validation(&answer(0x0302, [8; 16])).is_err());
}

#[test]
fn unprotected_errors_servers_cannot_protect_fail_the_request_not_the_connection() {
    for status in [
        NtStatus::USER_SESSION_DELETED,
        NtStatus::NETWORK_SESSION_EXPIRED,
        NtStatus::INVALID_PARAMETER,
    ] {
        let mut c = core(true);
        let id = send(&mut c, Command::Read, TREE);
        let mut m = response(Command::Read, id, SID, TREE, b"");
        m[8..12].copy_from_slice(&status.0.to_le_bytes());
        let ev = delivered(&mut c, m);
        assert!(
            matches!(&ev[..], [Event::Response { header, encrypted: false, .. }] if header.status == status),
            "{ev:?}"
        );
        assert!(c.failed().is_none());
    }
    // Any other status, success above all, still fails the connection.
    let mut c = core(true);
    let id = send(&mut c, Command::Read, TREE);
    let mut m = response(Command::Read, id, SID, TREE, b"");
    m[8..12].copy_from_slice(&NtStatus::ACCESS_DENIED.0.to_le_bytes());
    refused(&mut c, m, "unprotected");
}

#[test]
fn a_second_interim_response_is_refused() {
    let mut c = core(false);
    let id = send(&mut c, Command::Read, TREE);
    let mut interim = response(Command::Read, id, SID, 0, b"");
    interim[8..12].copy_from_slice(&NtStatus::PENDING.0.to_le_bytes());
    interim[16] |= flags::ASYNC as u8;
    interim[32..40].copy_from_slice(&77u64.to_le_bytes());
    delivered(&mut c, interim.clone());
    refused(&mut c, interim, "second interim");
}

#[test]
fn a_first_session_setup_answer_may_not_take_a_session_in_use() {
    // Answered with the SessionId of an established session, or encrypted under it.
    for encrypt_it in [false, true] {
        let mut c = core(true);
        let mut out = Outgoing::message(&[0; 24]);
        let Start::Ready(t) = c
            .start(&[Request::new(Command::SessionSetup, 0, 0)], &out)
            .unwrap()
        else {
            panic!()
        };
        let id = t.seal(&mut out).unwrap().0[0];
        let mut h = Header::request(Command::SessionSetup, SID, 0);
        h.flags = flags::SERVER_TO_REDIR;
        h.message_id = id;
        h.credits = 1;
        h.status = NtStatus::MORE_PROCESSING_REQUIRED;
        let mut m = Vec::new();
        h.encode(&mut m);
        m.extend_from_slice(&[9, 0, 0, 0, 72, 0, 0, 0]);
        let frame = if encrypt_it { encrypted(&m, SID) } else { m };
        refused(&mut c, frame, "in use");
    }
    // And a session's keys are never replaced.
    let mut c = core(true);
    let p = SessionProtection::new(SigningAlgorithm::AesCmac, Zeroizing::new(vec![0; 16]), None)
        .unwrap();
    assert!(c.add_session(SID, p).is_err());
}

#[test]
fn credits_that_nothing_outstanding_can_grant_are_an_error_at_once() {
    let mut c = Core::new([0; 4], Instant::now());
    let p = SessionProtection::new(SigningAlgorithm::AesCmac, Zeroizing::new(vec![0; 16]), None)
        .unwrap();
    c.add_session(SID, p).unwrap();
    // One credit held (the NEGOTIATE's), nothing outstanding: a 16-credit READ can never go.
    let out = Outgoing::message(&msg::small_request());
    let mut r = Request::new(Command::Read, SID, TREE);
    r.charge = 16;
    let e = c.start(&[r], &out).unwrap_err();
    assert!(e.to_string().contains("needs 16 credits"), "{e}");
}

#[test]
fn bytes_still_arriving_keep_the_keepalive_quiet() {
    let t0 = Instant::now();
    let mut c = Core::new([0; 4], t0);
    c.set_keepalive(Duration::from_secs(10), Duration::from_secs(5));
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(10)),
        Keepalive::SendEcho
    );
    // Part of a large frame arrives: alive, though no frame was completed.
    c.heard(t0 + Duration::from_secs(14));
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(16)),
        Keepalive::Idle
    );
    assert_eq!(c.keepalive_deadline(), t0 + Duration::from_secs(24));
}

/// An unsolicited OPLOCK_BREAK: a lease break (44 bytes) or an oplock break (24).
fn break_message(session_id: u64, lease: bool) -> Vec<u8> {
    let mut h = Header::request(Command::OplockBreak, session_id, 0);
    h.flags = flags::SERVER_TO_REDIR;
    h.message_id = u64::MAX;
    let mut m = Vec::new();
    h.encode(&mut m);
    if lease {
        m.extend_from_slice(&44u16.to_le_bytes());
        m.extend_from_slice(&1u16.to_le_bytes()); // NewEpoch
        m.extend_from_slice(&1u32.to_le_bytes()); // ACK_REQUIRED
        m.extend_from_slice(&[0xAB; 16]);
        m.extend_from_slice(&3u32.to_le_bytes()); // R|H
        m.extend_from_slice(&1u32.to_le_bytes()); // to R
        m.extend_from_slice(&[0; 12]);
    } else {
        m.extend_from_slice(&24u16.to_le_bytes());
        m.push(0);
        m.extend_from_slice(&[0; 5]);
        m.extend_from_slice(&[3; 16]);
    }
    m
}

#[test]
fn a_lease_break_is_admitted_as_servers_send_it_and_acknowledged_where_the_lease_is() {
    // Servers send lease breaks with SessionId 0, unsigned and unencrypted, even on an
    // encrypted connection: admitted, acknowledged in the session and tree of the open.
    let mut c = core(true);
    c.hold_lease([0xAB; 16], SID, TREE);
    let events = delivered(&mut c, break_message(0, true));
    let [Event::Break { ack: Some(ack), .. }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(ack.request, (SID, TREE));
    assert_eq!(ack.body, msg::lease_break_ack([0xAB; 16], 1));
    // A lease no open holds: admitted, nothing to acknowledge.
    c.release_lease(&[0xAB; 16]);
    let events = delivered(&mut c, break_message(0, true));
    assert!(matches!(
        events.as_slice(),
        [Event::Break { ack: None, .. }]
    ));
    assert!(c.failed().is_none());
}

#[test]
fn breaks_that_name_a_session_must_be_protected_like_it() {
    // An oplock break for the encrypting session, in plaintext: forged.
    refused(
        &mut core(true),
        break_message(SID, false),
        "unencrypted break notification",
    );
    // Encrypted under it: admitted.
    let mut c = core(true);
    let m = break_message(SID, false);
    assert_eq!(delivered(&mut c, encrypted(&m, SID)).len(), 1);
    // A signed-only session: unsigned is refused, signed is admitted.
    refused(&mut core(false), break_message(SID, false), "bad signature");
    let mut c = core(false);
    let mut m = break_message(SID, false);
    m[16] |= flags::SIGNED as u8;
    assert_eq!(delivered(&mut c, signed(m)).len(), 1);
    // An oplock break that names no session cannot be checked: refused.
    refused(&mut core(true), break_message(0, false), "names no session");
    // A session not on this connection.
    refused(
        &mut core(true),
        break_message(SID + 1, true),
        "not on this connection",
    );
}

#[test]
fn an_unsolicited_message_that_is_no_break_is_refused() {
    let mut m = break_message(0, true);
    m[12] = Command::Read as u8;
    refused(&mut core(true), m, "no break notification");
    let mut m = break_message(0, true);
    m[16] = 0; // not SERVER_TO_REDIR
    refused(&mut core(true), m, "no break notification");
    // A lease break of a wrong size.
    let mut m = break_message(0, true);
    m[64] = 40;
    refused(&mut core(true), m, "StructureSize 40");
}

#[test]
fn replays_carry_the_flag_and_every_request_the_channel_sequence() {
    let mut c = core(true);
    c.dialect = Some(Dialect::Smb311);
    c.set_channel_sequence(3);
    let mut out = Outgoing::message(&msg::small_request());
    let mut r = Request::new(Command::Write, SID, TREE);
    r.replay = true;
    let Start::Ready(t) = c.start(&[r], &out).unwrap() else {
        panic!("no credits")
    };
    assert_eq!(t.headers[0].status, NtStatus(3));
    assert_ne!(t.headers[0].flags & flags::REPLAY_OPERATION, 0);
    t.seal(&mut out).unwrap();
    let Start::Ready(t) = c
        .start(&[Request::new(Command::Read, SID, TREE)], &out)
        .unwrap()
    else {
        panic!("no credits")
    };
    assert_eq!(t.headers[0].status, NtStatus(3));
    assert_eq!(t.headers[0].flags & flags::REPLAY_OPERATION, 0);
}

#[test]
fn unprotected_breaks_do_not_keep_a_silent_peer_alive() {
    let t0 = Instant::now();
    let mut c = core(true);
    c.last_heard = t0;
    c.set_keepalive(Duration::from_secs(10), Duration::from_secs(5));
    assert_eq!(
        c.poll_keepalive(t0 + Duration::from_secs(10)),
        Keepalive::SendEcho
    );
    // Breaks anyone could inject keep coming; the peer still never answers the ECHO.
    for s in 11..15 {
        let mut m = break_message(0, true);
        c.handle_frame(&mut m, t0 + Duration::from_secs(s)).unwrap();
    }
    assert!(matches!(
        c.poll_keepalive(t0 + Duration::from_secs(15)),
        Keepalive::Dead(_)
    ));
}
