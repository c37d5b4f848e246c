//! NEGOTIATE: the offer, what the server chose checked against it, the 3.1.1 preauth hash;
//! and for 3.0/3.0.2, where no preauth hash protects the choice, FSCTL_VALIDATE_NEGOTIATE_INFO
//! after the first TREE_CONNECT (MS-SMB2 §3.2.5.5, §3.2.5.14.12).

use crate::crypto::PreauthHash;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::msg::{self, NegotiateOptions, NegotiateResponse, R};

/// One NEGOTIATE exchange: what was offered, and the client's GUID and salt.
#[derive(Debug, Clone)]
pub struct Negotiation {
    offer: NegotiateOptions,
    client_guid: [u8; 16],
    salt: [u8; 32],
}

/// What a NEGOTIATE settled: the server's answer and the connection's preauth hash.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The server's answer.
    pub response: NegotiateResponse,
    /// The preauth hash after NEGOTIATE (3.1.1; zero otherwise).
    pub preauth: PreauthHash,
    /// What was offered, for VALIDATE_NEGOTIATE_INFO.
    pub offer: NegotiateOptions,
    /// The client GUID sent.
    pub client_guid: [u8; 16],
}

impl Negotiation {
    /// An offer; `client_guid` and `salt` come from the system's random generator.
    pub fn new(offer: NegotiateOptions, client_guid: [u8; 16], salt: [u8; 32]) -> Result<Self> {
        if offer.dialects.is_empty() {
            return Err(Error::InvalidArgument("no dialect offered".into()));
        }
        if offer.signing.is_empty() {
            return Err(Error::InvalidArgument(
                "no signing algorithm offered".into(),
            ));
        }
        Ok(Self {
            offer,
            client_guid,
            salt,
        })
    }

    /// The NEGOTIATE request body.
    pub fn request(&self) -> Result<Vec<u8>> {
        msg::negotiate_request(&self.offer, self.client_guid, self.salt)
    }

    /// Checks the server's answer (`response`, the whole message) against the offer, given
    /// the request exactly as `sent`.
    pub fn handle_response(self, sent: &[u8], response: &[u8]) -> Result<Negotiated> {
        let neg = NegotiateResponse::decode(response)?;
        if !self.offer.dialects.contains(&neg.dialect) {
            return Err(Error::Protocol(format!(
                "the server chose {}, which was not offered",
                neg.dialect
            )));
        }
        let mut preauth = PreauthHash::default();
        if neg.dialect == Dialect::Smb311 {
            preauth.update(sent);
            preauth.update(response);
            if let Some(c) = neg.cipher
                && !self.offer.ciphers.contains(&c)
            {
                return Err(Error::Protocol(format!(
                    "the server chose {c}, which was not offered"
                )));
            }
            if let Some(s) = neg.signing
                && !self.offer.signing.contains(&s)
            {
                return Err(Error::Protocol(format!(
                    "the server chose signing algorithm {s:?}, which was not offered"
                )));
            }
        }
        Ok(Negotiated {
            response: neg,
            preauth,
            offer: self.offer,
            client_guid: self.client_guid,
        })
    }
}

/// FSCTL_VALIDATE_NEGOTIATE_INFO.
pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;

impl Negotiated {
    /// True where the choice must be validated after the first TREE_CONNECT (3.0, 3.0.2).
    pub fn needs_validation(&self) -> bool {
        matches!(self.response.dialect, Dialect::Smb30 | Dialect::Smb302)
    }

    /// The IOCTL request body of FSCTL_VALIDATE_NEGOTIATE_INFO: the NEGOTIATE request's
    /// Capabilities, Guid, SecurityMode and Dialects, as sent.
    pub fn validate_request(&self) -> Result<Vec<u8>> {
        let mut input = Vec::new();
        input.extend_from_slice(&msg::client_capabilities(&self.offer).to_le_bytes());
        input.extend_from_slice(&self.client_guid);
        input.extend_from_slice(&msg::CLIENT_SECURITY_MODE.to_le_bytes());
        let count = u16::try_from(self.offer.dialects.len())
            .map_err(|_| Error::InvalidArgument("too many dialects".into()))?;
        input.extend_from_slice(&count.to_le_bytes());
        for d in &self.offer.dialects {
            input.extend_from_slice(&d.value().to_le_bytes());
        }
        Ok(msg::ioctl_request(
            FSCTL_VALIDATE_NEGOTIATE_INFO,
            msg::RELATED_FILE_ID,
            &input,
            24,
        ))
    }

    /// Checks the server's VALIDATE_NEGOTIATE_INFO answer (the whole IOCTL response, already
    /// bound to its signed request) against what NEGOTIATE said.
    pub fn check_validation(&self, response: &[u8]) -> Result<()> {
        let out = msg::ioctl_response(response, FSCTL_VALIDATE_NEGOTIATE_INFO)?;
        let r = R::new("VALIDATE_NEGOTIATE_INFO response", &out);
        let n = &self.response;
        let same = r.u32(0)? == n.capabilities
            && r.slice(4, 16)? == n.server_guid
            && r.u16(20)? == n.security_mode
            && r.u16(22)? == n.dialect.value();
        if same {
            Ok(())
        } else {
            Err(Error::Protocol(
                "VALIDATE_NEGOTIATE_INFO differs from what NEGOTIATE said: the negotiation was \
                 tampered with (a downgrade on the path)"
                    .into(),
            ))
        }
    }
}
