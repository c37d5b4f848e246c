//! What the lab-backed azkrb-smb3 tests share: a service ticket for the lab's share, and a
//! connection, session and tree on it.

#![allow(dead_code)]

use std::time::Duration;

use azkrb::KerberosAuth;
use azkrb_cloudtgt::Credential;
use azkrb_smb3::msg::NegotiateOptions;
use azkrb_smb3::{Cipher, Connection, Security, Session, Tree};
use azkrb_test_support::{kerberos_client, lab_user};

pub type Env = std::collections::HashMap<String, String>;

pub async fn ticket(env: &Env) -> Credential {
    let c = kerberos_client(env);
    let user = lab_user(env);
    let tgt = c
        .login_password(&user, &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap()
}

pub async fn connect(
    env: &Env,
    port: &str,
    ciphers: Vec<Cipher>,
) -> azkrb_smb3::Result<(Connection, Session, Tree)> {
    connect_with(env, port, ciphers, ticket(env).await).await
}

/// [`connect`] with a ticket of the caller's.
pub async fn connect_with(
    env: &Env,
    port: &str,
    ciphers: Vec<Cipher>,
    ticket: Credential,
) -> azkrb_smb3::Result<(Connection, Session, Tree)> {
    let opts = NegotiateOptions {
        ciphers,
        server_name: env["AZKRB_LAB_HOST"].clone(),
        ..Default::default()
    };
    let conn =
        Connection::connect(&format!("127.0.0.1:{port}"), &opts, Duration::from_secs(20)).await?;
    let mut auth = KerberosAuth::new(ticket)?;
    let session = Session::setup(&conn, &mut auth, Security::default()).await?;
    let tree = session
        .tree_connect(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_SHARE"])
        .await?;
    Ok((conn, session, tree))
}
