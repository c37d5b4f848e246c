//! What the mount-share tests share: a test's own directory and credential cache against
//! the lab, mount-share run with the lab's settings, and smbclient beside it.
#![allow(dead_code)] // each test file uses its part

pub mod mount;

use std::io::Write;
use std::process::{Command, Output, Stdio};

pub use azkrb_test_support::Env;
use azkrb_test_support::lab;

pub struct Lab {
    pub env: Env,
    pub dir: std::path::PathBuf,
}

/// Runs `cmd` with `stdin` fed to it and its output captured.
pub fn fed(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

impl Lab {
    pub fn new(name: &str) -> Self {
        let env = lab();
        let dir = std::env::temp_dir().join(format!("azkrb-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Lab { env, dir }
    }

    pub fn ccache(&self) -> String {
        self.dir.join("ccache").display().to_string()
    }

    pub fn unc(&self, path: &str) -> String {
        format!(
            "//{}/{}/{path}",
            self.env["AZKRB_LAB_HOST"], self.env["AZKRB_LAB_SHARE"]
        )
    }

    /// mount-share with the lab's settings (this test's ccache, the encrypted smbd's
    /// address, the lab's krb5.conf and CA), for a test to add to or change.
    pub fn command(&self) -> Command {
        self.command_at(&format!("127.0.0.1:{}", self.env["AZKRB_LAB_SMB_PORT"]))
    }

    /// [`command`](Self::command) reaching the SMB server at `address` (the AD DC's, say).
    pub fn command_at(&self, address: &str) -> Command {
        self.command_with(address, Some(&self.ccache()))
    }

    /// mount-share with the lab's settings and `ccache` (`None`: neither `--ccache` nor
    /// `KRB5CCNAME`, so krb5.conf's default decides).
    pub fn command_with(&self, address: &str, ccache: Option<&str>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mount-share"));
        if let Some(c) = ccache {
            cmd.args(["--ccache", c]);
        }
        cmd.args(["--address", address])
            .env("KRB5_CONFIG", &self.env["AZKRB_LAB_KRB5_CONF"])
            .env("AZKRB_CA_FILE", &self.env["AZKRB_LAB_CA"])
            .env_remove("KRB5CCNAME");
        cmd
    }

    /// Runs mount-share with the lab's settings, `stdin` fed to it.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        fed(self.command().args(args), stdin)
    }

    /// smbclient on the lab's share with Kerberos from `ccache` and `krb5_conf`.
    pub fn smbclient_with(&self, ccache: &str, krb5_conf: &str, command: &str) -> Output {
        self.smbclient_on(&self.env["AZKRB_LAB_HOST"], ccache, krb5_conf, command)
    }

    /// [`smbclient_with`](Self::smbclient_with) on the lab share of another `host` (served
    /// by the same smbd).
    pub fn smbclient_on(&self, host: &str, ccache: &str, krb5_conf: &str, command: &str) -> Output {
        Command::new("smbclient")
            .args([
                &format!("//{host}/{}", self.env["AZKRB_LAB_SHARE"]),
                "-I",
                "127.0.0.1",
                "-p",
                &self.env["AZKRB_LAB_SMB_PORT"],
                "--use-kerberos=required",
                "-c",
                command,
            ])
            .env("KRB5CCNAME", format!("FILE:{ccache}"))
            .env("KRB5_CONFIG", krb5_conf)
            .output()
            .unwrap()
    }

    /// smbclient with this test's credential cache.
    pub fn smbclient(&self, command: &str) -> Output {
        self.smbclient_with(&self.ccache(), &self.env["AZKRB_LAB_KRB5_CONF"], command)
    }

    pub fn ok(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn login(&self) {
        let pw = format!("{}\n", self.env["AZKRB_LAB_PASSWORD"]);
        self.ok(
            &[
                "login",
                "--password-stdin",
                "alice",
                "--realm",
                &self.env["AZKRB_LAB_REALM"],
            ],
            pw.as_bytes(),
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
