//! The users programs run as, and where they are looked up.

/// A user to run a program as, resolved when the configuration is read (so a user that
/// does not exist is a configuration error, reported before anything starts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, from /etc/group.
    pub groups: Vec<u32>,
}

/// Where users are looked up: the system's (`SystemUsers`) or a test's.
pub trait UserDb {
    /// The user with this name, or this numeric uid; `None` when there is none.
    fn user(&self, name_or_uid: &str) -> Option<RunAs>;
}

/// The system user database: /etc/passwd and /etc/group (musl reads them directly; glibc
/// goes through NSS).
pub struct SystemUsers;

impl UserDb for SystemUsers {
    fn user(&self, name_or_uid: &str) -> Option<RunAs> {
        use nix::unistd::{Gid, Uid, User};
        let user = match name_or_uid.parse::<u32>() {
            Ok(uid) => User::from_uid(Uid::from_raw(uid)),
            Err(_) => User::from_name(name_or_uid),
        }
        .ok()??;
        // getgrouplist includes the primary group, as initgroups(3) would set it.
        let groups = std::ffi::CString::new(user.name.as_str())
            .ok()
            .and_then(|name| nix::unistd::getgrouplist(&name, user.gid).ok())
            .map(|groups| groups.into_iter().map(Gid::as_raw).collect())
            .unwrap_or_else(|| vec![user.gid.as_raw()]);
        Some(RunAs {
            name: user.name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            groups,
        })
    }
}

/// The user database both readers' tests share, so they do not depend on the machine.
#[cfg(test)]
pub mod fake {
    use super::{RunAs, UserDb};

    /// Knows `www-data` (uid 33, with a supplementary group) and `root`; nobody else.
    pub struct FakeUsers;

    impl UserDb for FakeUsers {
        fn user(&self, name_or_uid: &str) -> Option<RunAs> {
            match name_or_uid {
                "www-data" | "33" => Some(RunAs {
                    name: "www-data".into(),
                    uid: 33,
                    gid: 33,
                    groups: vec![33, 4],
                }),
                "root" | "0" => Some(RunAs {
                    name: "root".into(),
                    uid: 0,
                    gid: 0,
                    groups: vec![0],
                }),
                _ => None,
            }
        }
    }
}
