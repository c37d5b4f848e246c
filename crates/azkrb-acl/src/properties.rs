//! Property tests over generated descriptors: the binary form and the texts round-trip.

use proptest::prelude::*;

use crate::acl::{self, Ace, AceBody, Acl, flags};
use crate::descriptor::{SecurityDescriptor, control};
use crate::{icacls, sddl, sid::Sid};

fn sid() -> impl Strategy<Value = Sid> {
    prop_oneof![
        Just(Sid::parse("S-1-1-0").unwrap()),
        Just(Sid::parse("S-1-5-32-544").unwrap()),
        Just(Sid::creator_owner()),
        (
            0u64..(1 << 48),
            proptest::collection::vec(any::<u32>(), 0..=15)
        )
            .prop_map(|(authority, sub_authorities)| Sid {
                authority,
                sub_authorities
            }),
    ]
}

/// ACEs SDDL can carry: the types it names, a SID body, nothing after it.
fn plain_ace() -> BoxedStrategy<Ace> {
    (
        prop_oneof![
            Just(acl::ACCESS_ALLOWED),
            Just(acl::ACCESS_DENIED),
            Just(acl::SYSTEM_AUDIT),
            Just(acl::ACCESS_ALLOWED_CALLBACK)
        ],
        any::<u8>().prop_map(|f| f & !0x20),
        any::<u32>(),
        sid(),
    )
        .prop_map(|(ace_type, flags, mask, sid)| Ace {
            ace_type,
            flags,
            body: AceBody::Sid {
                mask,
                sid,
                extra: Vec::new(),
            },
        })
        .boxed()
}

fn any_ace() -> BoxedStrategy<Ace> {
    prop_oneof![
        plain_ace(),
        (plain_ace(), proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(mut a, x)| {
            if let AceBody::Sid { extra, .. } = &mut a.body {
                *extra = x;
            }
            a
        }),
        // An object ACE, kept byte for byte.
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..60)).prop_map(|(f, b)| Ace {
            ace_type: 0x05,
            flags: f,
            body: AceBody::Raw(b)
        }),
    ]
    .boxed()
}

fn descriptor(ace: BoxedStrategy<Ace>) -> impl Strategy<Value = SecurityDescriptor> {
    let acl = proptest::collection::vec(ace, 0..12).prop_map(Acl::new);
    (
        any::<u16>(),
        proptest::option::of(sid()),
        proptest::option::of(sid()),
        proptest::option::of(acl.clone()),
        proptest::option::of(acl),
    )
        .prop_map(|(c, owner, group, sacl, dacl)| {
            let keep = control::DACL_PROTECTED
                | control::DACL_AUTO_INHERITED
                | control::DACL_AUTO_INHERIT_REQ
                | control::SACL_PROTECTED
                | control::SACL_AUTO_INHERITED
                | control::SACL_AUTO_INHERIT_REQ;
            let mut control = c & keep;
            // SDDL writes an ACL's flags with the ACL.
            if dacl.is_none() {
                control &= !(control::DACL_PROTECTED
                    | control::DACL_AUTO_INHERITED
                    | control::DACL_AUTO_INHERIT_REQ);
            }
            if sacl.is_none() {
                control &= !(control::SACL_PROTECTED
                    | control::SACL_AUTO_INHERITED
                    | control::SACL_AUTO_INHERIT_REQ);
            }
            SecurityDescriptor {
                control,
                owner,
                group,
                sacl,
                dacl,
            }
        })
}

proptest! {
    #[test]
    fn the_binary_form_round_trips(sd in descriptor(any_ace())) {
        let bytes = sd.to_bytes().unwrap();
        prop_assert_eq!(SecurityDescriptor::from_bytes(&bytes).unwrap(), sd);
    }

    #[test]
    fn sddl_round_trips_both_ways(sd in descriptor(plain_ace())) {
        let text = sddl::to_string(&sd).unwrap();
        let back = sddl::parse(&text).unwrap();
        prop_assert_eq!(&back, &sd, "{}", text);
        prop_assert_eq!(sddl::to_string(&back).unwrap(), text);
    }

    #[test]
    fn icacls_entries_round_trip_both_ways(
        deny in any::<bool>(),
        f in any::<u8>().prop_map(|f| f & (flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT | flags::NO_PROPAGATE_INHERIT)),
        io in any::<bool>(),
        mask in any::<u32>(),
        sid in sid(),
    ) {
        let flags = if io && f & (flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT) != 0 { f | flags::INHERIT_ONLY } else { f };
        let ace = if deny { Ace::deny(sid, mask, flags) } else { Ace::allow(sid, mask, flags) };
        let kind = if deny { acl::ACCESS_DENIED } else { acl::ACCESS_ALLOWED };
        let text = icacls::ace_text(&ace, &|_| None);
        let back = icacls::parse_ace(&text, kind, &|_| None).unwrap();
        prop_assert_eq!(&back, &ace, "{}", text);
        prop_assert_eq!(icacls::ace_text(&back, &|_| None), text);
    }

    #[test]
    fn any_bytes_are_an_error_or_a_descriptor(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(sd) = SecurityDescriptor::from_bytes(&bytes) {
            let again = sd.to_bytes().unwrap();
            prop_assert_eq!(SecurityDescriptor::from_bytes(&again).unwrap(), sd);
        }
    }
}
