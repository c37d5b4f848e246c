//! The SMB protocol core after a valid session setup, fed arbitrary server frames: every
//! frame is an error or events for requests that were outstanding, never a panic; a
//! failed core accepts nothing more.
//!
//! Input: a sequence of `[mode][len: u16 LE][len bytes]`. Mode bit 0 encrypts the bytes
//! under the encrypting session's server key (so the fuzzer reaches what lies behind a
//! valid AEAD tag), bit 1 signs them with the signing session's key, bit 2 advances the
//! clock past the keepalive interval before the frame.
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use azkrb_smb3::crypto::{self, AeadKey};
use azkrb_smb3::msg::{self, Command, FileId};
use azkrb_smb3::proto::{Core, Event, Outgoing, Request, SessionProtection, Start};
use azkrb_smb3::{Cipher, SigningAlgorithm};
use libfuzzer_sys::fuzz_target;

const ENC: u64 = 0x11;
const SIGNED: u64 = 0x22;
const KEY: [u8; 16] = [5; 16];
const S2C: [u8; 32] = [6; 32];

fn start(core: &mut Core, reqs: &[Request], out: &mut Outgoing, ids: &mut HashSet<u64>) {
    if let Ok(Start::Ready(t)) = core.start(reqs, out)
        && let Ok((taken, _)) = t.seal(out)
    {
        ids.extend(taken);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut core = Core::new([1, 2, 3, 4], now);
    let enc = SessionProtection::new(
        SigningAlgorithm::AesCmac,
        KEY.to_vec().into(),
        Some((Cipher::Aes256Gcm, &[7; 32][..], &S2C[..])),
    )
    .expect("keys");
    core.add_session(ENC, enc).expect("a free id");
    let signed =
        SessionProtection::new(SigningAlgorithm::AesCmac, KEY.to_vec().into(), None).expect("keys");
    core.add_session(SIGNED, signed).expect("a free id");
    core.hold_lease([0xAB; 16], ENC, 3);
    let mut ids = HashSet::new();
    // One credit at first: a NEGOTIATE-like request outside any session, then whatever
    // the frames grant.
    let mut out = Outgoing::message(&msg::small_request());
    start(
        &mut core,
        &[Request::new(Command::Echo, 0, 0)],
        &mut out,
        &mut ids,
    );
    let key = AeadKey::new(Cipher::Aes256Gcm, &S2C).expect("key");
    let mut rest = data;
    let mut n = 0u64;
    while let [mode, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        n += 1;
        // Requests of every kind go out as credits allow.
        let mut read = Outgoing::message(&msg::read_request(FileId([1; 16]), 0, 4096));
        start(
            &mut core,
            &[Request::new(Command::Read, ENC, 3)],
            &mut read,
            &mut ids,
        );
        let mut q = Outgoing::message(&msg::query_info_request(FileId([1; 16]), 34, 56));
        start(
            &mut core,
            &[Request::new(Command::QueryInfo, SIGNED, 4)],
            &mut q,
            &mut ids,
        );
        let mut chain =
            Outgoing::chain([&b"\x39\0"[..], &msg::close_request(msg::RELATED_FILE_ID)]);
        let reqs = [
            Request::new(Command::Create, ENC, 3),
            Request::new(Command::Close, ENC, 3),
        ];
        start(&mut core, &reqs, &mut chain, &mut ids);
        let mut frame = if mode & 1 != 0 {
            let mut nonce = [0u8; 16];
            nonce[..8].copy_from_slice(&n.to_le_bytes());
            crypto::encrypt(&key, ENC, &nonce, bytes).unwrap_or_default()
        } else {
            bytes.to_vec()
        };
        if mode & 2 != 0 {
            let _ = crypto::sign(SigningAlgorithm::AesCmac, &KEY, &mut frame, true);
        }
        if mode & 4 != 0 {
            now += Duration::from_secs(31);
            let _ = core.poll_keepalive(now);
        }
        let failed_before = core.failed().is_some();
        match core.handle_frame(&mut frame, now) {
            Ok(events) => {
                assert!(!failed_before, "a failed core accepted a frame");
                for e in events {
                    let id = match e {
                        Event::Response { header, range, .. } => {
                            assert!(frame.get(range).is_some(), "a range outside the frame");
                            header.message_id
                        }
                        Event::Interim { message_id, .. } => message_id,
                        // Unsolicited: acknowledged only where a held lease is.
                        Event::Break { ack, .. } => {
                            if let Some(a) = ack {
                                assert_eq!(a.request, (ENC, 3), "an ack for no held lease");
                            }
                            continue;
                        }
                    };
                    assert!(ids.contains(&id), "an answer to MessageId {id}, never sent");
                }
            }
            Err(_) => assert!(core.failed().is_some(), "an error left the core open"),
        }
    }
});
