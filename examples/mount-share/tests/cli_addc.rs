//! mount-share against the lab's Samba AD DC, as against AD DS: a TGT and service ticket
//! from its (Heimdal) KDC, files through its own smbd (encrypted SMB 3.1.1, PAC-bearing
//! tickets), a FUSE mount of its share, and diagnose.

mod common;

use common::Lab;
use common::mount::{Mounted, spawn_mount};

/// The DC's share, its address, and mount-share reaching it after a login there.
fn logged_in(name: &str) -> (Lab, String, String) {
    let l = Lab::new(name);
    let realm = &l.env["AZKRB_LAB_ADDC_REALM"];
    let out = l.run(
        &["login", "--password-stdin", &format!("alice@{realm}")],
        format!("{}\n", l.env["AZKRB_LAB_ADDC_PASSWORD"]).as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unc = format!("//{}/share", l.env["AZKRB_LAB_ADDC_HOST"]);
    let address = l.env["AZKRB_LAB_ADDC_SMB"].clone();
    (l, unc, address)
}

fn ok(l: &Lab, address: &str, args: &[&str]) -> String {
    let out = l.command_at(address).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn files_through_the_ad_dcs_own_smbd() {
    let (l, unc, address) = logged_in("addc-files");
    let dir = format!("addc-{}", std::process::id());
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let local = l.dir.join("data.bin");
    std::fs::write(&local, &data).unwrap();
    ok(&l, &address, &["mkdir", &format!("{unc}/{dir}")]);
    ok(
        &l,
        &address,
        &[
            "put",
            local.to_str().unwrap(),
            &format!("{unc}/{dir}/data.bin"),
        ],
    );
    let listed = ok(&l, &address, &["ls", &format!("{unc}/{dir}/")]);
    assert!(
        listed.contains("data.bin") && listed.contains("300000"),
        "{listed}"
    );
    let back = l.dir.join("back.bin");
    ok(
        &l,
        &address,
        &[
            "get",
            &format!("{unc}/{dir}/data.bin"),
            back.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&back).unwrap(), data);
    // On the DC's disk, as written.
    let disk = std::path::Path::new(&l.env["AZKRB_LAB_DIR"])
        .join("addc/share")
        .join(&dir);
    assert_eq!(std::fs::read(disk.join("data.bin")).unwrap(), data);
    ok(&l, &address, &["rm", &format!("{unc}/{dir}/data.bin")]);
    ok(&l, &address, &["rmdir", &format!("{unc}/{dir}")]);

    // diagnose walks the same path: the DC's KDC, its ticket, its smbd.
    let out = l
        .command_at(&address)
        .args(["diagnose", &unc])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    for line in ["PASS TGT", "PASS service ticket", "PASS tree connect"] {
        assert!(said.contains(line), "{line} missing: {said}");
    }
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_fuse_mount_of_the_ad_dcs_share() {
    let (l, unc, address) = logged_in("addc-mount");
    let mp = l.dir.join("mnt");
    let mut cmd = l.command_at(&address);
    cmd.args(["mount", &unc, mp.to_str().unwrap()]);
    let _mounted: Mounted = spawn_mount(cmd, &mp);
    let name = format!("addc-mount-{}.txt", std::process::id());
    std::fs::write(mp.join(&name), b"through the mount, to the DC").unwrap();
    assert_eq!(
        std::fs::read(mp.join(&name)).unwrap(),
        b"through the mount, to the DC"
    );
    let disk = std::path::Path::new(&l.env["AZKRB_LAB_DIR"]).join("addc/share");
    assert_eq!(
        std::fs::read(disk.join(&name)).unwrap(),
        b"through the mount, to the DC"
    );
    std::fs::remove_file(mp.join(&name)).unwrap();
    assert!(!disk.join(&name).exists());
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_keytab_login_at_the_ad_dc() {
    let l = Lab::new("addc-keytab");
    let realm = &l.env["AZKRB_LAB_ADDC_REALM"];
    let out = l.run(
        &[
            "login",
            "--keytab",
            &l.env["AZKRB_LAB_ADDC_USER_KEYTAB"],
            &format!("alice@{realm}"),
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The TGT those keys brought serves the DC's share.
    let address = l.env["AZKRB_LAB_ADDC_SMB"].clone();
    ok(
        &l,
        &address,
        &["ls", &format!("//{}/share/", l.env["AZKRB_LAB_ADDC_HOST"])],
    );
}

/// MIT's kinit of alice at the AD DC into `ccache`.
fn kinit_dc(l: &Lab, ccache: &str) {
    let realm = &l.env["AZKRB_LAB_ADDC_REALM"];
    let mut kinit = std::process::Command::new("kinit");
    kinit
        .args(["-c", ccache, &format!("alice@{realm}")])
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"]);
    let out = common::fed(
        &mut kinit,
        format!("{}\n", l.env["AZKRB_LAB_ADDC_PASSWORD"]).as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ticket` for `unc` with the cache `ccache`, its debug log, which says whether the TGS
/// request was armored with FAST.
fn ticket_log(l: &Lab, address: &str, ccache: &str, unc: &str) -> String {
    let out = l
        .command_with(address, Some(ccache))
        .args(["-vv", "ticket", unc])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn tgs_requests_to_the_ad_dc_are_fast_armored_whoever_made_the_cache() {
    // Our login notes in the cache that the DC supports FAST, as kinit does.
    let (l, unc, address) = logged_in("addc-fast");
    let conf = &l.env["AZKRB_LAB_KRB5_CONF"];
    let klist = std::process::Command::new("klist")
        .args(["-C", "-c", &l.ccache()])
        .env("KRB5_CONFIG", conf)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&klist.stdout);
    let realm = &l.env["AZKRB_LAB_ADDC_REALM"];
    assert!(
        listed.contains(&format!("fast_avail(krbtgt/{realm}@{realm}) = yes")),
        "{listed}"
    );
    // A later process armors its first TGS request.
    let log = ticket_log(&l, &address, &l.ccache(), &unc);
    assert!(log.contains("armored with FAST"), "{log}");

    // A cache MIT's kinit made: its fast_avail entry is read.
    let mit = l.dir.join("kinit-ccache").display().to_string();
    kinit_dc(&l, &mit);
    let log = ticket_log(&l, &address, &mit, &unc);
    assert!(log.contains("armored with FAST"), "{log}");

    // A cache without the entry: nothing known, nothing armored (auto).
    let plain = l.dir.join("plain-ccache").display().to_string();
    kinit_dc(&l, &plain);
    // (kinit wrote fast_avail: taken out.)
    let mut cache = azkrb::cloudtgt::ccache::Ccache::load(&plain).unwrap();
    cache.entries.retain(|e| !e.is_config());
    cache.save(&plain).unwrap();
    let log = ticket_log(&l, &address, &plain, &unc);
    assert!(!log.contains("armored with FAST"), "{log}");
}
