//! A FUSE mount by `mount-share mount` as the tests run it: started, found in the mount
//! table, stopped with SIGTERM, and always gone when the test ends.

use std::process::{Command, Stdio};

use super::Lab;

/// True while `mountpoint` is in this process's mount table.
pub fn mounted(mountpoint: &std::path::Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = mountpoint.display().to_string();
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// A running `mount-share mount`, stopped (and the mount gone) when dropped, also when a
/// test fails half-way: declared after the `Lab`, it is dropped before the Lab removes its
/// directory, so that removal never reaches through the mount into the share.
pub struct Mounted {
    pub child: Option<std::process::Child>,
    pub mountpoint: std::path::PathBuf,
}

impl Mounted {
    /// The process, for a test that stops it itself.
    pub fn take(&mut self) -> std::process::Child {
        self.child.take().unwrap()
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            for _ in 0..100 {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if mounted(&self.mountpoint) {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(&self.mountpoint)
                .status();
        }
    }
}

/// Starts `mount-share mount` and waits until the kernel lists the mount.
pub fn start_mount(l: &Lab, mountpoint: &std::path::Path) -> Mounted {
    start_mount_with(l, mountpoint, &[])
}

/// The mount's options as /proc/self/mountinfo lists them (per mount and per superblock).
pub fn mount_options(mountpoint: &std::path::Path) -> String {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = mountpoint.display().to_string();
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some(want.as_str()))
        .unwrap_or_default()
        .to_string()
}

/// [`start_mount`] with extra `mount` options.
pub fn start_mount_with(l: &Lab, mountpoint: &std::path::Path, extra: &[&str]) -> Mounted {
    start_mount_of(l, l.unc("").trim_end_matches('/'), mountpoint, &[], extra)
}

/// Mounts `target`, with `global` options before the command and `extra` after it.
pub fn start_mount_of(
    l: &Lab,
    target: &str,
    mountpoint: &std::path::Path,
    global: &[&str],
    extra: &[&str],
) -> Mounted {
    let mut cmd = l.command();
    cmd.args(global)
        .args(["mount", target, mountpoint.to_str().unwrap()])
        .args(extra);
    spawn_mount(cmd, mountpoint)
}

/// Runs `cmd` (a `mount-share … mount` command) and waits until the kernel lists the mount.
pub fn spawn_mount(mut cmd: Command, mountpoint: &std::path::Path) -> Mounted {
    assert!(
        std::path::Path::new("/dev/fuse").exists(),
        "FUSE needs /dev/fuse (and the fuse3 package)"
    );
    std::fs::create_dir_all(mountpoint).unwrap();
    let mut child = cmd
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if mounted(mountpoint) {
            return Mounted {
                child: Some(child),
                mountpoint: mountpoint.to_path_buf(),
            };
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "mount-share mount exited ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the mount did not appear within 10 s");
}

pub fn sigterm(m: &Mounted) {
    let ok = Command::new("kill")
        .args(["-TERM", &m.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits up to 10 s for the mount process to end; its stderr.
pub fn wait_exit(child: std::process::Child) -> (std::process::ExitStatus, String) {
    let mut child = child;
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status,
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("mount-share mount did not exit within 10 s");
}

/// What a mount logged so far, line by line (its stderr, read as it comes: a chatty mount
/// never blocks on a full pipe).
#[derive(Clone, Default)]
pub struct Log(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Log {
    /// Lines logged so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The lines logged since line `from`.
    pub fn since(&self, from: usize) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .get(from..)
            .unwrap_or_default()
            .to_vec()
    }
}

/// [`start_mount_of`] of the lab share with `global` options, its stderr read into a
/// [`Log`] as it comes.
pub fn start_mount_logged(
    l: &Lab,
    mountpoint: &std::path::Path,
    global: &[&str],
) -> (Mounted, Log) {
    let target = l.unc("");
    let mut m = start_mount_of(l, target.trim_end_matches('/'), mountpoint, global, &[]);
    let log = Log::default();
    let stderr = m.child.as_mut().unwrap().stderr.take().unwrap();
    let lines = log.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            lines.0.lock().unwrap().push(line);
        }
    });
    (m, log)
}

/// A mount of `target` by `cmd` (mount-share with its global flags; `-v mount` is added)
/// outlives its tickets without noticing. A file written slowly through the mount over
/// 100 s (two of the short host's 45 s tickets and more) arrives whole, as `cmd` reads it
/// back with `get`; the mount re-authenticated its session before each ticket ended and
/// never met an expired session; a descriptor opened at the start still reads.
pub fn outlives_its_tickets(l: &Lab, mut cmd: Command, target: &str) {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let mp = l.dir.join("mnt");
    let mut get = Command::new(cmd.get_program());
    get.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => get.env(k, v),
            None => get.env_remove(k),
        };
    }
    cmd.args(["-v", "mount", target, mp.to_str().unwrap()]);
    let mut m = spawn_mount(cmd, &mp);
    let name = format!("fuse-expiry-{}.txt", std::process::id());
    std::fs::write(mp.join(&name), b"written before").unwrap();
    let mut open = std::fs::File::open(mp.join(&name)).unwrap();
    let slow = format!("fuse-slow-{}.bin", std::process::id());
    let mut out = std::fs::File::create(mp.join(&slow)).unwrap();
    let mut sent = Vec::new();
    let started = Instant::now();
    let mut chunk = 0u64;
    while started.elapsed() < Duration::from_secs(100) {
        let data: Vec<u8> = (0..32 * 1024u64)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(chunk * 13) >> 8) as u8)
            .collect();
        out.write_all(&data).unwrap();
        out.flush().unwrap();
        out.sync_data().unwrap();
        sent.extend_from_slice(&data);
        chunk += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(out);
    // After the tickets' end: a listing, a read on the descriptor opened before, a write.
    assert!(
        std::fs::read_dir(&mp)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_str() == Some(name.as_str()))
    );
    let mut text = String::new();
    open.read_to_string(&mut text).unwrap();
    assert_eq!(text, "written before");
    drop(open);
    std::fs::write(mp.join(&name), b"written after").unwrap();
    assert_eq!(std::fs::read(mp.join(&name)).unwrap(), b"written after");
    // The slow file, as another client reads it: byte for byte what was written.
    let back = l.dir.join("slow-back.bin");
    let got = get
        .args(["get", &format!("{target}/{slow}"), back.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(
        std::fs::read(&back).unwrap() == sent,
        "the slow file differs"
    );
    std::fs::remove_file(mp.join(&name)).unwrap();
    std::fs::remove_file(mp.join(&slow)).unwrap();
    sigterm(&m);
    let (status, stderr) = wait_exit(m.take());
    assert!(status.success(), "{stderr}");
    let refreshed = stderr
        .matches("re-authenticated before its ticket ended")
        .count();
    assert!(refreshed >= 2, "{stderr}");
    assert!(!stderr.contains("expired: re-authenticating"), "{stderr}");
}
