//! MS-PAC decoding against real PACs: two issued by a Samba AD DC KDC (service ticket and
//! TGT) and the example PAC published in MS-PAC §3. The expected values were decoded
//! independently with Samba's own NDR decoder (`lab/capture/ad/decode_pac.py`).

use azkrb_asn1::pac::{Pac, buffer_type};
use azkrb_test_support::fixtures::ad as fixture;
use serde_json::Value;

fn expected(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn check(bin: &str, json: &str) -> Pac {
    let pac = Pac::decode(&fixture(bin)).unwrap();
    let e = expected(json);
    assert_eq!(pac.version, e["Version"].as_u64().unwrap() as u32);
    let buffers = e["buffers"].as_array().unwrap();
    assert_eq!(pac.buffers.len(), buffers.len());
    for (ours, theirs) in pac.buffers.iter().zip(buffers) {
        assert_eq!(u64::from(ours.ty), theirs["ulType"].as_u64().unwrap());
        assert_eq!(
            ours.data.len() as u64,
            theirs["cbBufferSize"].as_u64().unwrap()
        );
        assert_eq!(ours.offset, theirs["Offset"].as_u64().unwrap());
    }

    let li = &e["logon_info"];
    let v = pac.logon_info.as_ref().unwrap();
    assert_eq!(v.logon_time, li["LogonTime"].as_u64().unwrap());
    assert_eq!(v.effective_name, li["EffectiveName"].as_str().unwrap());
    assert_eq!(v.full_name, li["FullName"].as_str().unwrap());
    assert_eq!(u64::from(v.user_id), li["UserId"].as_u64().unwrap());
    assert_eq!(
        u64::from(v.primary_group_id),
        li["PrimaryGroupId"].as_u64().unwrap()
    );
    assert_eq!(u64::from(v.user_flags), li["UserFlags"].as_u64().unwrap());
    assert_eq!(v.logon_server, li["LogonServer"].as_str().unwrap());
    assert_eq!(v.logon_domain_name, li["LogonDomainName"].as_str().unwrap());
    assert_eq!(
        v.logon_domain_id.as_ref().unwrap().to_string(),
        li["LogonDomainId"].as_str().unwrap()
    );
    assert_eq!(
        u64::from(v.user_account_control),
        li["UserAccountControl"].as_u64().unwrap()
    );
    let groups: Vec<(u64, u64)> = li["GroupIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["RelativeId"].as_u64().unwrap(),
                g["Attributes"].as_u64().unwrap(),
            )
        })
        .collect();
    let ours: Vec<(u64, u64)> = v
        .group_ids
        .iter()
        .map(|g| (u64::from(g.rid), u64::from(g.attributes)))
        .collect();
    assert_eq!(ours, groups);
    let extra: Vec<(String, u64)> = li["ExtraSids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Sid"].as_str().unwrap().to_string(),
                s["Attributes"].as_u64().unwrap(),
            )
        })
        .collect();
    let ours: Vec<(String, u64)> = v
        .extra_sids
        .iter()
        .map(|s| (s.sid.to_string(), u64::from(s.attributes)))
        .collect();
    assert_eq!(ours, extra);
    match li["ResourceGroupDomainSid"].as_str() {
        Some(sid) => assert_eq!(
            v.resource_group_domain_sid.as_ref().unwrap().to_string(),
            sid
        ),
        None => assert!(v.resource_group_domain_sid.is_none()),
    }
    assert_eq!(
        v.resource_group_ids.len() as u64,
        li["ResourceGroupCount"].as_u64().unwrap()
    );
    if let Some(sid) = li.get("UserSid").and_then(Value::as_str) {
        assert_eq!(v.user_sid().unwrap().to_string(), sid);
    }

    let ci = &e["client_info"];
    let c = pac.client_info.as_ref().unwrap();
    assert_eq!(c.client_id, ci["ClientId"].as_u64().unwrap());
    assert_eq!(c.name, ci["Name"].as_str().unwrap());

    for (ty, sig) in e["signatures"].as_object().unwrap() {
        let ty: u32 = ty.parse().unwrap();
        let buf = pac.buffers.iter().find(|b| b.ty == ty).unwrap();
        let expected_hex = sig["Signature"].as_str().unwrap();
        let expected_type = sig["SignatureType"].as_i64().unwrap();
        let (ours_type, ours_sig) = match ty {
            buffer_type::SERVER_CHECKSUM => {
                let s = pac.server_signature.as_ref().unwrap();
                (s.signature_type, s.signature.clone())
            }
            buffer_type::KDC_CHECKSUM => {
                let s = pac.kdc_signature.as_ref().unwrap();
                (s.signature_type, s.signature.clone())
            }
            _ => {
                // Ticket and full-PAC checksums share the PAC_SIGNATURE_DATA layout.
                let t = i32::from_le_bytes(buf.data[..4].try_into().unwrap());
                (t, buf.data[4..4 + expected_hex.len() / 2].to_vec())
            }
        };
        assert_eq!(
            i64::from(ours_type),
            expected_type,
            "signature type of buffer {ty}"
        );
        assert_eq!(
            hex::encode(ours_sig),
            expected_hex,
            "signature of buffer {ty}"
        );
    }
    pac
}

#[test]
fn samba_ad_service_ticket_pac() {
    let pac = check("pac-service-ticket.bin", "expected-pac-service-ticket.json");
    let e = expected("expected-pac-service-ticket.json");
    let u = pac.upn_dns_info.as_ref().unwrap();
    let eu = &e["upn_dns_info"];
    assert_eq!(u.upn, eu["Upn"].as_str().unwrap());
    assert_eq!(u.dns_domain_name, eu["DnsDomainName"].as_str().unwrap());
    assert_eq!(u64::from(u.flags), eu["Flags"].as_u64().unwrap());
    assert_eq!(u.sam_name.as_deref(), eu["SamName"].as_str());
    assert_eq!(
        u.sid.as_ref().unwrap().to_string(),
        eu["Sid"].as_str().unwrap()
    );
    // A hybrid user's ticket carries the on-prem SID and the groups'.
    let sids: Vec<String> = pac
        .logon_info
        .unwrap()
        .group_sids()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(sids.contains(&"S-1-5-21-3623811015-3361044348-30300820-1103".to_string()));
}

#[test]
fn samba_ad_tgt_pac_with_requestor() {
    let pac = check("pac-tgt.bin", "expected-pac-tgt.json");
    let user = pac.logon_info.as_ref().unwrap().user_sid().unwrap();
    assert_eq!(pac.requestor.as_ref(), Some(&user));
}

#[test]
fn ms_pac_published_example() {
    let pac = check("ms-pac-example.bin", "expected-ms-pac-example.json");
    let v = pac.logon_info.unwrap();
    assert_eq!(v.group_ids.len(), 26);
    assert_eq!(v.extra_sids.len(), 13);
    assert_eq!(pac.server_signature.unwrap().signature_type, -138);
}

#[test]
fn absurd_counts_and_offsets_are_errors_not_allocations() {
    let good = fixture("pac-service-ticket.bin");
    // cBuffers = 2^32 - 1.
    let mut bad = good.clone();
    bad[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = Pac::decode(&bad).unwrap_err().to_string();
    assert!(err.contains("cBuffers"), "{err}");
    // A buffer offset far outside the PAC.
    let mut bad = good.clone();
    bad[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = Pac::decode(&bad).unwrap_err().to_string();
    assert!(err.contains("PAC_INFO_BUFFER"), "{err}");
    // SidCount = 2^32 - 1 inside KERB_VALIDATION_INFO. Its offset in the buffer: 16 bytes
    // of NDR headers, the top-level pointer (4), six FILETIMEs (48), six RPC_UNICODE_STRINGs
    // (48), two USHORTs (4), UserId, PrimaryGroupId, GroupCount, GroupIds, UserFlags (20),
    // UserSessionKey (16), two RPC_UNICODE_STRINGs (16), LogonDomainId (4), Reserved1 (8),
    // UserAccountControl, SubAuthStatus (8), two FILETIMEs (16), FailedILogonCount,
    // Reserved3 (8) = 216.
    let sid_count_at = 120 + 216; // LOGON_INFO starts at offset 120 in this PAC
    assert_eq!(good[sid_count_at..sid_count_at + 4], 1u32.to_le_bytes());
    let mut bad = good.clone();
    bad[sid_count_at..sid_count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = Pac::decode(&bad).unwrap_err().to_string();
    assert!(
        err.contains("KERB_VALIDATION_INFO") && err.contains("ExtraSids"),
        "{err}"
    );
    // Every truncation is an error, never a panic.
    for n in 0..good.len() {
        let _ = Pac::decode(&good[..n]);
    }
}
