//! Protocol numbers as typed values, each with an `Unknown(n)` arm, and the Kerberos flag
//! sets as bit-flag types.

use core::fmt;

use rasn::types::BitString;

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident: $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $label:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A number azkrb has no name for.
            Unknown($repr),
        }

        impl $name {
            /// The number on the wire.
            pub const fn value(self) -> $repr {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Unknown(n) => n,
                }
            }

            /// The name the specifications use, if known.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($label), )*
                    Self::Unknown(_) => None,
                }
            }
        }

        impl From<$repr> for $name {
            fn from(n: $repr) -> Self {
                match n {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v.value()
            }
        }

        impl rasn::AsnType for $name {
            const TAG: rasn::types::Tag = rasn::types::Tag::INTEGER;
            const IDENTIFIER: rasn::types::Identifier = rasn::types::Identifier::INTEGER;
        }

        impl rasn::Decode for $name {
            fn decode_with_tag_and_constraints<D: rasn::Decoder>(
                decoder: &mut D,
                tag: rasn::types::Tag,
                constraints: &rasn::types::Constraints,
            ) -> Result<Self, D::Error> {
                <$repr>::decode_with_tag_and_constraints(decoder, tag, constraints).map(Self::from)
            }
        }

        impl rasn::Encode for $name {
            fn encode_with_tag_and_constraints<'b, E: rasn::Encoder<'b>>(
                &self,
                encoder: &mut E,
                tag: rasn::types::Tag,
                constraints: &rasn::types::Constraints,
                identifier: rasn::types::Identifier,
            ) -> Result<(), E::Error> {
                self.value().encode_with_tag_and_constraints(encoder, tag, constraints, identifier)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(label) => write!(f, "{label} ({})", self.value()),
                    None => write!(f, "unknown ({})", self.value()),
                }
            }
        }
    };
}

wire_enum! {
    /// Kerberos message types (RFC 4120 §5.10 application tags and `msg-type`).
    MessageType: i32 {
        /// AS-REQ.
        AsReq = 10 => "AS-REQ",
        /// AS-REP.
        AsRep = 11 => "AS-REP",
        /// TGS-REQ.
        TgsReq = 12 => "TGS-REQ",
        /// TGS-REP.
        TgsRep = 13 => "TGS-REP",
        /// AP-REQ.
        ApReq = 14 => "AP-REQ",
        /// AP-REP.
        ApRep = 15 => "AP-REP",
        /// KRB-SAFE.
        KrbSafe = 20 => "KRB-SAFE",
        /// KRB-PRIV.
        KrbPriv = 21 => "KRB-PRIV",
        /// KRB-CRED.
        KrbCred = 22 => "KRB-CRED",
        /// KRB-ERROR.
        KrbError = 30 => "KRB-ERROR",
    }
}

wire_enum! {
    /// PA-DATA types (RFC 4120 §7.5.2, RFC 6113, MS-KILE, MS-SFU).
    PaDataType: i32 {
        /// PA-TGS-REQ: the AP-REQ of a TGS request.
        TgsReq = 1 => "PA-TGS-REQ",
        /// PA-ENC-TIMESTAMP: encrypted-timestamp pre-authentication.
        EncTimestamp = 2 => "PA-ENC-TIMESTAMP",
        /// PA-PW-SALT.
        PwSalt = 3 => "PA-PW-SALT",
        /// PA-ETYPE-INFO (obsolete).
        EtypeInfo = 11 => "PA-ETYPE-INFO",
        /// PA-PK-AS-REQ (PKINIT).
        PkAsReq = 16 => "PA-PK-AS-REQ",
        /// PA-PK-AS-REP (PKINIT).
        PkAsRep = 17 => "PA-PK-AS-REP",
        /// PA-ETYPE-INFO2: etype, salt and s2kparams.
        EtypeInfo2 = 19 => "PA-ETYPE-INFO2",
        /// PA-SVR-REFERRAL-INFO.
        SvrReferralInfo = 20 => "PA-SVR-REFERRAL-INFO",
        /// PA-PAC-REQUEST (MS-KILE).
        PacRequest = 128 => "PA-PAC-REQUEST",
        /// PA-FOR-USER (MS-SFU).
        ForUser = 129 => "PA-FOR-USER",
        /// PA-FOR-X509-USER (MS-SFU).
        ForX509User = 130 => "PA-FOR-X509-USER",
        /// PA-FX-COOKIE (RFC 6113).
        FxCookie = 133 => "PA-FX-COOKIE",
        /// PA-FX-FAST (RFC 6113).
        FxFast = 136 => "PA-FX-FAST",
        /// PA-FX-ERROR (RFC 6113).
        FxError = 137 => "PA-FX-ERROR",
        /// PA-ENCRYPTED-CHALLENGE (RFC 6113).
        EncryptedChallenge = 138 => "PA-ENCRYPTED-CHALLENGE",
        /// PA-REQ-ENC-PA-REP (RFC 6806).
        ReqEncPaRep = 149 => "PA-REQ-ENC-PA-REP",
        /// PA-AS-FRESHNESS (RFC 8070).
        AsFreshness = 150 => "PA-AS-FRESHNESS",
        /// PA-SPAKE (RFC 9xxx draft).
        Spake = 151 => "PA-SPAKE",
        /// KERB-KEY-LIST-REQ (MS-KILE).
        KeyListReq = 161 => "KERB-KEY-LIST-REQ",
        /// KERB-KEY-LIST-REP (MS-KILE).
        KeyListRep = 162 => "KERB-KEY-LIST-REP",
        /// PA-SUPPORTED-ENCTYPES (MS-KILE).
        SupportedEnctypes = 165 => "PA-SUPPORTED-ENCTYPES",
        /// PA-PAC-OPTIONS (MS-KILE).
        PacOptions = 167 => "PA-PAC-OPTIONS",
    }
}

wire_enum! {
    /// Principal name types (RFC 4120 §6.2, RFC 6111, MS-KILE).
    NameType: i32 {
        /// NT-UNKNOWN.
        NtUnknown = 0 => "NT-UNKNOWN",
        /// NT-PRINCIPAL: a user.
        Principal = 1 => "NT-PRINCIPAL",
        /// NT-SRV-INST: a service and instance (krbtgt).
        SrvInst = 2 => "NT-SRV-INST",
        /// NT-SRV-HST: a service on a host (`cifs/host`).
        SrvHst = 3 => "NT-SRV-HST",
        /// NT-SRV-XHST.
        SrvXhst = 4 => "NT-SRV-XHST",
        /// NT-UID.
        Uid = 5 => "NT-UID",
        /// NT-X500-PRINCIPAL.
        X500Principal = 6 => "NT-X500-PRINCIPAL",
        /// NT-SMTP-NAME.
        SmtpName = 7 => "NT-SMTP-NAME",
        /// NT-ENTERPRISE: a UPN such as `alice@contoso.com` as one component.
        Enterprise = 10 => "NT-ENTERPRISE",
        /// NT-WELLKNOWN.
        WellKnown = 11 => "NT-WELLKNOWN",
        /// NT-MS-PRINCIPAL.
        MsPrincipal = -128 => "NT-MS-PRINCIPAL",
        /// NT-MS-PRINCIPAL-AND-ID.
        MsPrincipalAndId = -129 => "NT-MS-PRINCIPAL-AND-ID",
        /// NT-ENT-PRINCIPAL-AND-ID.
        EntPrincipalAndId = -130 => "NT-ENT-PRINCIPAL-AND-ID",
    }
}

wire_enum! {
    /// KRB-ERROR codes: RFC 4120 §7.5.9, with the PKINIT (RFC 4556), FAST (RFC 6113) and
    /// KDF (RFC 8636) codes that Active Directory and MS-KILE use.
    ErrorCode: i32 {
        /// No error.
        None = 0 => "KDC_ERR_NONE",
        /// Client's entry in database has expired.
        NameExp = 1 => "KDC_ERR_NAME_EXP",
        /// Server's entry in database has expired.
        ServiceExp = 2 => "KDC_ERR_SERVICE_EXP",
        /// Requested protocol version number not supported.
        BadPvno = 3 => "KDC_ERR_BAD_PVNO",
        /// Client's key encrypted in old master key.
        COldMastKvno = 4 => "KDC_ERR_C_OLD_MAST_KVNO",
        /// Server's key encrypted in old master key.
        SOldMastKvno = 5 => "KDC_ERR_S_OLD_MAST_KVNO",
        /// Client not found in Kerberos database.
        CPrincipalUnknown = 6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        /// Server not found in Kerberos database.
        SPrincipalUnknown = 7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        /// Multiple principal entries in database.
        PrincipalNotUnique = 8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        /// The client or server has a null key.
        NullKey = 9 => "KDC_ERR_NULL_KEY",
        /// Ticket not eligible for postdating.
        CannotPostdate = 10 => "KDC_ERR_CANNOT_POSTDATE",
        /// Requested starttime is later than end time.
        NeverValid = 11 => "KDC_ERR_NEVER_VALID",
        /// KDC policy rejects request.
        Policy = 12 => "KDC_ERR_POLICY",
        /// KDC cannot accommodate requested option.
        BadOption = 13 => "KDC_ERR_BADOPTION",
        /// KDC has no support for encryption type.
        EtypeNosupp = 14 => "KDC_ERR_ETYPE_NOSUPP",
        /// KDC has no support for checksum type.
        SumtypeNosupp = 15 => "KDC_ERR_SUMTYPE_NOSUPP",
        /// KDC has no support for padata type.
        PadataTypeNosupp = 16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
        /// KDC has no support for transited type.
        TrtypeNosupp = 17 => "KDC_ERR_TRTYPE_NOSUPP",
        /// Clients credentials have been revoked.
        ClientRevoked = 18 => "KDC_ERR_CLIENT_REVOKED",
        /// Credentials for server have been revoked.
        ServiceRevoked = 19 => "KDC_ERR_SERVICE_REVOKED",
        /// TGT has been revoked.
        TgtRevoked = 20 => "KDC_ERR_TGT_REVOKED",
        /// Client not yet valid; try again later.
        ClientNotyet = 21 => "KDC_ERR_CLIENT_NOTYET",
        /// Server not yet valid; try again later.
        ServiceNotyet = 22 => "KDC_ERR_SERVICE_NOTYET",
        /// Password has expired; change password to reset.
        KeyExpired = 23 => "KDC_ERR_KEY_EXPIRED",
        /// Pre-authentication information was invalid.
        PreauthFailed = 24 => "KDC_ERR_PREAUTH_FAILED",
        /// Additional pre-authentication required.
        PreauthRequired = 25 => "KDC_ERR_PREAUTH_REQUIRED",
        /// Requested server and ticket don't match.
        ServerNomatch = 26 => "KDC_ERR_SERVER_NOMATCH",
        /// Server principal valid for user2user only.
        MustUseUser2User = 27 => "KDC_ERR_MUST_USE_USER2USER",
        /// KDC Policy rejects transited path.
        PathNotAccepted = 28 => "KDC_ERR_PATH_NOT_ACCEPTED",
        /// A service is not available.
        SvcUnavailable = 29 => "KDC_ERR_SVC_UNAVAILABLE",
        /// Integrity check on decrypted field failed.
        BadIntegrity = 31 => "KRB_AP_ERR_BAD_INTEGRITY",
        /// Ticket expired.
        TktExpired = 32 => "KRB_AP_ERR_TKT_EXPIRED",
        /// Ticket not yet valid.
        TktNyv = 33 => "KRB_AP_ERR_TKT_NYV",
        /// Request is a replay.
        Repeat = 34 => "KRB_AP_ERR_REPEAT",
        /// The ticket isn't for us.
        NotUs = 35 => "KRB_AP_ERR_NOT_US",
        /// Ticket and authenticator don't match.
        Badmatch = 36 => "KRB_AP_ERR_BADMATCH",
        /// Clock skew too great.
        Skew = 37 => "KRB_AP_ERR_SKEW",
        /// Incorrect net address.
        Badaddr = 38 => "KRB_AP_ERR_BADADDR",
        /// Protocol version mismatch.
        Badversion = 39 => "KRB_AP_ERR_BADVERSION",
        /// Invalid msg type.
        MsgType = 40 => "KRB_AP_ERR_MSG_TYPE",
        /// Message stream modified.
        Modified = 41 => "KRB_AP_ERR_MODIFIED",
        /// Message out of order.
        Badorder = 42 => "KRB_AP_ERR_BADORDER",
        /// Specified version of key is not available.
        Badkeyver = 44 => "KRB_AP_ERR_BADKEYVER",
        /// Service key not available.
        Nokey = 45 => "KRB_AP_ERR_NOKEY",
        /// Mutual authentication failed.
        MutFail = 46 => "KRB_AP_ERR_MUT_FAIL",
        /// Incorrect message direction.
        Baddirection = 47 => "KRB_AP_ERR_BADDIRECTION",
        /// Alternative authentication method required.
        Method = 48 => "KRB_AP_ERR_METHOD",
        /// Incorrect sequence number in message.
        Badseq = 49 => "KRB_AP_ERR_BADSEQ",
        /// Inappropriate type of checksum in message.
        InappCksum = 50 => "KRB_AP_ERR_INAPP_CKSUM",
        /// Policy rejects transited path.
        ApPathNotAccepted = 51 => "KRB_AP_PATH_NOT_ACCEPTED",
        /// Response too big for UDP; retry with TCP.
        ResponseTooBig = 52 => "KRB_ERR_RESPONSE_TOO_BIG",
        /// Generic error (description in e-text).
        Generic = 60 => "KRB_ERR_GENERIC",
        /// Field is too long for this implementation.
        FieldToolong = 61 => "KRB_ERR_FIELD_TOOLONG",
        /// PKINIT: client not trusted.
        ClientNotTrusted = 62 => "KDC_ERR_CLIENT_NOT_TRUSTED",
        /// PKINIT: KDC not trusted.
        KdcNotTrusted = 63 => "KDC_ERR_KDC_NOT_TRUSTED",
        /// PKINIT: invalid signature.
        InvalidSig = 64 => "KDC_ERR_INVALID_SIG",
        /// PKINIT: DH key parameters not accepted.
        DhKeyParametersNotAccepted = 65 => "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED",
        /// PKINIT: certificate mismatch.
        CertificateMismatch = 66 => "KDC_ERR_CERTIFICATE_MISMATCH",
        /// No TGT available to validate USER-TO-USER.
        NoTgt = 67 => "KRB_AP_ERR_NO_TGT",
        /// Wrong realm.
        WrongRealm = 68 => "KDC_ERR_WRONG_REALM",
        /// Ticket must be for USER-TO-USER.
        UserToUserRequired = 69 => "KRB_AP_ERR_USER_TO_USER_REQUIRED",
        /// PKINIT: can't verify certificate.
        CantVerifyCertificate = 70 => "KDC_ERR_CANT_VERIFY_CERTIFICATE",
        /// PKINIT: invalid certificate.
        InvalidCertificate = 71 => "KDC_ERR_INVALID_CERTIFICATE",
        /// PKINIT: revoked certificate.
        RevokedCertificate = 72 => "KDC_ERR_REVOKED_CERTIFICATE",
        /// PKINIT: revocation status unknown.
        RevocationStatusUnknown = 73 => "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
        /// PKINIT: revocation status unavailable.
        RevocationStatusUnavailable = 74 => "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
        /// PKINIT: client name mismatch.
        ClientNameMismatch = 75 => "KDC_ERR_CLIENT_NAME_MISMATCH",
        /// PKINIT: KDC name mismatch.
        KdcNameMismatch = 76 => "KDC_ERR_KDC_NAME_MISMATCH",
        /// PKINIT: inconsistent key purpose.
        InconsistentKeyPurpose = 77 => "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
        /// PKINIT: digest in certificate not accepted.
        DigestInCertNotAccepted = 78 => "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED",
        /// PKINIT: PA checksum must be included.
        PaChecksumMustBeIncluded = 79 => "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED",
        /// PKINIT: digest in signed data not accepted.
        DigestInSignedDataNotAccepted = 80 => "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED",
        /// PKINIT: public key encryption not supported.
        PublicKeyEncryptionNotSupported = 81 => "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED",
        /// FAST: pre-authentication expired.
        PreauthExpired = 90 => "KDC_ERR_PREAUTH_EXPIRED",
        /// FAST: more pre-authentication data required.
        MorePreauthDataRequired = 91 => "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
        /// FAST: bad authentication set.
        PreauthBadAuthenticationSet = 92 => "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
        /// FAST: unknown critical FAST options.
        UnknownCriticalFastOptions = 93 => "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
        /// PKINIT: no acceptable KDF.
        NoAcceptableKdf = 100 => "KDC_ERR_NO_ACCEPTABLE_KDF",
    }
}

wire_enum! {
    /// Checksum types (RFC 3961 §8, RFC 3962, RFC 8009, RFC 4121, MS-KILE).
    CksumType: i32 {
        /// CRC32.
        Crc32 = 1 => "CRC32",
        /// rsa-md4.
        RsaMd4 = 2 => "rsa-md4",
        /// rsa-md4-des.
        RsaMd4Des = 3 => "rsa-md4-des",
        /// des-mac.
        DesMac = 4 => "des-mac",
        /// des-mac-k.
        DesMacK = 5 => "des-mac-k",
        /// rsa-md4-des-k.
        RsaMd4DesK = 6 => "rsa-md4-des-k",
        /// rsa-md5.
        RsaMd5 = 7 => "rsa-md5",
        /// rsa-md5-des.
        RsaMd5Des = 8 => "rsa-md5-des",
        /// rsa-md5-des3.
        RsaMd5Des3 = 9 => "rsa-md5-des3",
        /// sha1 (unkeyed).
        Sha1Unkeyed = 10 => "sha1",
        /// hmac-sha1-des3-kd.
        HmacSha1Des3Kd = 12 => "hmac-sha1-des3-kd",
        /// hmac-sha1-des3.
        HmacSha1Des3 = 13 => "hmac-sha1-des3",
        /// sha1 (unkeyed, MIT number).
        Sha1 = 14 => "sha1",
        /// hmac-sha1-96-aes128.
        HmacSha196Aes128 = 15 => "hmac-sha1-96-aes128",
        /// hmac-sha1-96-aes256.
        HmacSha196Aes256 = 16 => "hmac-sha1-96-aes256",
        /// cmac-camellia128.
        CmacCamellia128 = 17 => "cmac-camellia128",
        /// cmac-camellia256.
        CmacCamellia256 = 18 => "cmac-camellia256",
        /// hmac-sha256-128-aes128.
        HmacSha256128Aes128 = 19 => "hmac-sha256-128-aes128",
        /// hmac-sha384-192-aes256.
        HmacSha384192Aes256 = 20 => "hmac-sha384-192-aes256",
        /// The GSS-API authenticator checksum of RFC 4121 §4.1.1.
        Gssapi = 0x8003 => "GSSAPI (0x8003)",
        /// hmac-md5 (RC4, Microsoft).
        HmacMd5 = -138 => "hmac-md5",
    }
}

wire_enum! {
    /// Host address types (RFC 4120 §7.5.3).
    AddressType: i32 {
        /// IPv4.
        Ipv4 = 2 => "IPv4",
        /// Directional.
        Directional = 3 => "Directional",
        /// ChaosNet.
        ChaosNet = 5 => "ChaosNet",
        /// XNS.
        Xns = 6 => "XNS",
        /// ISO.
        Iso = 7 => "ISO",
        /// DECNET Phase IV.
        DecnetPhaseIv = 12 => "DECNET Phase IV",
        /// AppleTalk DDP.
        AppleTalkDdp = 16 => "AppleTalk DDP",
        /// NetBios.
        NetBios = 20 => "NetBios",
        /// IPv6.
        Ipv6 = 24 => "IPv6",
    }
}

wire_enum! {
    /// Authorization data types (RFC 4120 §7.5.4, MS-KILE, MS-PAC).
    AdType: i32 {
        /// AD-IF-RELEVANT.
        IfRelevant = 1 => "AD-IF-RELEVANT",
        /// AD-KDCIssued.
        KdcIssued = 4 => "AD-KDCIssued",
        /// AD-AND-OR.
        AndOr = 5 => "AD-AND-OR",
        /// AD-MANDATORY-FOR-KDC.
        MandatoryForKdc = 8 => "AD-MANDATORY-FOR-KDC",
        /// AD-WIN2K-PAC: the MS-PAC.
        Win2kPac = 128 => "AD-WIN2K-PAC",
        /// AD-ETYPE-NEGOTIATION (RFC 4537).
        EtypeNegotiation = 129 => "AD-ETYPE-NEGOTIATION",
        /// KERB-AUTH-DATA-TOKEN-RESTRICTIONS.
        TokenRestrictions = 141 => "KERB-AUTH-DATA-TOKEN-RESTRICTIONS",
        /// KERB-LOCAL.
        KerbLocal = 142 => "KERB-LOCAL",
        /// AD-AUTH-DATA-AP-OPTIONS.
        ApOptions = 143 => "AD-AUTH-DATA-AP-OPTIONS",
        /// KERB-AD-TARGET-PRINCIPAL.
        TargetPrincipal = 144 => "KERB-AD-TARGET-PRINCIPAL",
    }
}

macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $flag:ident = $bit:literal => $label:literal, )*
        }
    ) => {
        $(#[$meta])*
        ///
        /// Bit `n` in the specification's numbering (bit 0 first on the wire) is
        /// `1 << (31 - n)` here, so the `u32` reads like MIT's and Windows' hex flags.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: Self = Self(1 << (31 - $bit)); )*

            const NAMES: &'static [(u32, &'static str)] = &[ $( (1 << (31 - $bit), $label), )* ];

            /// No flags.
            pub const fn empty() -> Self {
                Self(0)
            }
            /// True if every flag of `other` is set.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
            /// Reads the first 32 bits of a KerberosFlags BIT STRING (missing bits are 0).
            pub fn from_bits(bits: &BitString) -> Self {
                let mut v = 0u32;
                for (i, bit) in bits.iter().take(32).enumerate() {
                    if *bit {
                        v |= 1 << (31 - i);
                    }
                }
                Self(v)
            }
            /// The 32-bit KerberosFlags BIT STRING.
            pub fn to_bits(self) -> BitString {
                BitString::from_slice(&self.0.to_be_bytes())
            }
            /// The names of the set flags, in bit order.
            pub fn names(self) -> Vec<&'static str> {
                Self::NAMES.iter().filter(|(m, _)| self.0 & m != 0).map(|(_, n)| *n).collect()
            }
        }

        impl rasn::AsnType for $name {
            const TAG: rasn::types::Tag = rasn::types::Tag::BIT_STRING;
            const IDENTIFIER: rasn::types::Identifier = rasn::types::Identifier::BIT_STRING;
        }

        impl rasn::Decode for $name {
            fn decode_with_tag_and_constraints<D: rasn::Decoder>(
                decoder: &mut D,
                tag: rasn::types::Tag,
                constraints: &rasn::types::Constraints,
            ) -> Result<Self, D::Error> {
                BitString::decode_with_tag_and_constraints(decoder, tag, constraints)
                    .map(|b| Self::from_bits(&b))
            }
        }

        impl rasn::Encode for $name {
            /// Always the 32 bits RFC 4120 §5.2.8 calls for (`03 05 00 xx xx xx xx`).
            fn encode_with_tag_and_constraints<'b, E: rasn::Encoder<'b>>(
                &self,
                encoder: &mut E,
                tag: rasn::types::Tag,
                constraints: &rasn::types::Constraints,
                identifier: rasn::types::Identifier,
            ) -> Result<(), E::Error> {
                self.to_bits().encode_with_tag_and_constraints(encoder, tag, constraints, identifier)
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> core::cmp::Ordering {
                self.0.cmp(&other.0)
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(0x{:08x}: {})", stringify!($name), self.0, self.names().join(" "))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.names().join(" "))
            }
        }
    };
}

flag_set! {
    /// FastOptions (RFC 6113 §5.4.1): bits 0–15 are critical (a KDC that does not know one
    /// refuses the request), the rest are not.
    FastOptions {
        /// hide-client-names (1): the outer reply and errors name no client.
        HIDE_CLIENT_NAMES = 1 => "hide-client-names",
        /// kdc-follow-referrals (16).
        KDC_FOLLOW_REFERRALS = 16 => "kdc-follow-referrals",
    }
}

flag_set! {
    /// KDCOptions (RFC 4120 §5.4.1, MS-SFU, RFC 6806).
    KdcOptions {
        /// forwardable (1).
        FORWARDABLE = 1 => "forwardable",
        /// forwarded (2).
        FORWARDED = 2 => "forwarded",
        /// proxiable (3).
        PROXIABLE = 3 => "proxiable",
        /// proxy (4).
        PROXY = 4 => "proxy",
        /// allow-postdate (5).
        ALLOW_POSTDATE = 5 => "allow-postdate",
        /// postdated (6).
        POSTDATED = 6 => "postdated",
        /// renewable (8).
        RENEWABLE = 8 => "renewable",
        /// cname-in-addl-tkt (14, MS-SFU constrained delegation).
        CNAME_IN_ADDL_TKT = 14 => "cname-in-addl-tkt",
        /// canonicalize (15, RFC 6806).
        CANONICALIZE = 15 => "canonicalize",
        /// request-anonymous (16, RFC 6112).
        REQUEST_ANONYMOUS = 16 => "request-anonymous",
        /// disable-transited-check (26).
        DISABLE_TRANSITED_CHECK = 26 => "disable-transited-check",
        /// renewable-ok (27).
        RENEWABLE_OK = 27 => "renewable-ok",
        /// enc-tkt-in-skey (28).
        ENC_TKT_IN_SKEY = 28 => "enc-tkt-in-skey",
        /// renew (30).
        RENEW = 30 => "renew",
        /// validate (31).
        VALIDATE = 31 => "validate",
    }
}

flag_set! {
    /// TicketFlags (RFC 4120 §5.3, RFC 6806, MS-KILE).
    TicketFlags {
        /// forwardable (1).
        FORWARDABLE = 1 => "forwardable",
        /// forwarded (2).
        FORWARDED = 2 => "forwarded",
        /// proxiable (3).
        PROXIABLE = 3 => "proxiable",
        /// proxy (4).
        PROXY = 4 => "proxy",
        /// may-postdate (5).
        MAY_POSTDATE = 5 => "may-postdate",
        /// postdated (6).
        POSTDATED = 6 => "postdated",
        /// invalid (7).
        INVALID = 7 => "invalid",
        /// renewable (8).
        RENEWABLE = 8 => "renewable",
        /// initial (9).
        INITIAL = 9 => "initial",
        /// pre-authent (10).
        PRE_AUTHENT = 10 => "pre-authent",
        /// hw-authent (11).
        HW_AUTHENT = 11 => "hw-authent",
        /// transited-policy-checked (12).
        TRANSITED_POLICY_CHECKED = 12 => "transited-policy-checked",
        /// ok-as-delegate (13).
        OK_AS_DELEGATE = 13 => "ok-as-delegate",
        /// enc-pa-rep (15, RFC 6806); Windows' klist calls it name_canonicalize.
        ENC_PA_REP = 15 => "enc-pa-rep",
        /// anonymous (16, RFC 6112).
        ANONYMOUS = 16 => "anonymous",
    }
}

flag_set! {
    /// APOptions (RFC 4120 §5.5.1).
    ApOptions {
        /// use-session-key (1).
        USE_SESSION_KEY = 1 => "use-session-key",
        /// mutual-required (2).
        MUTUAL_REQUIRED = 2 => "mutual-required",
    }
}
