//! Protocol versions and their negotiation.
//!
//! A version is `MAJOR.MINOR`. Peers with different majors cannot talk; a
//! minor version only adds (optional fields, methods, notifications), so
//! peers with the same major talk at the lower of their minors and each
//! ignores what it does not know.
//!
//! In `initialize` the host lists, for each major it speaks, the highest
//! minor (`["1.2"]` means 1.0, 1.1 and 1.2). The plugin answers with one
//! version: the highest major both speak, at the lower of the two minors.

use std::fmt;
use std::str::FromStr;

use aido_plugin_api::Error;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::RpcError;

/// A protocol version, `MAJOR.MINOR`. On the wire it is a string (`"1.0"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion {
    /// Changes when a message changes incompatibly.
    pub major: u32,
    /// Changes when something is added.
    pub minor: u32,
}

/// The versions this crate speaks: the highest minor of each major.
pub const SUPPORTED_VERSIONS: &[ProtocolVersion] = &[ProtocolVersion::CURRENT];

impl ProtocolVersion {
    /// The version this crate defines.
    pub const CURRENT: ProtocolVersion = ProtocolVersion::new(1, 0);

    /// `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        ProtocolVersion { major, minor }
    }

    /// Whether peers speaking `self` and `other` can talk (same major).
    pub fn compatible_with(self, other: ProtocolVersion) -> bool {
        self.major == other.major
    }

    /// The version two peers talk at, given what each speaks (the highest
    /// minor of each major): the highest common major, at the lower minor.
    /// `None` when they share no major.
    ///
    /// ```
    /// use aido_plugin_protocol::ProtocolVersion;
    /// let v = |s: &str| s.parse::<ProtocolVersion>().unwrap();
    /// assert_eq!(ProtocolVersion::negotiate(&[v("2.1"), v("1.4")], &[v("1.2")]), Some(v("1.2")));
    /// assert_eq!(ProtocolVersion::negotiate(&[v("1.0")], &[v("2.0")]), None);
    /// ```
    pub fn negotiate(
        offered: &[ProtocolVersion],
        supported: &[ProtocolVersion],
    ) -> Option<ProtocolVersion> {
        offered
            .iter()
            .filter_map(|theirs| {
                supported
                    .iter()
                    .filter(|ours| ours.compatible_with(*theirs))
                    .map(|ours| ProtocolVersion::new(ours.major, ours.minor.min(theirs.minor)))
                    .max()
            })
            .max()
    }

    /// Whether `self`, a plugin's answer to `initialize`, is one the host
    /// offered: a major it listed, at a minor no higher than the one it
    /// listed for that major.
    pub fn is_within(self, offered: &[ProtocolVersion]) -> bool {
        offered
            .iter()
            .any(|theirs| theirs.compatible_with(self) && self.minor <= theirs.minor)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A string that is not `MAJOR.MINOR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseVersionError {
    text: String,
}

impl fmt::Display for ParseVersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a protocol version; expected MAJOR.MINOR, such as {}",
            self.text,
            ProtocolVersion::CURRENT
        )
    }
}

impl std::error::Error for ParseVersionError {}

impl FromStr for ProtocolVersion {
    type Err = ParseVersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseVersionError {
            text: text.to_owned(),
        };
        let (major, minor) = text.split_once('.').ok_or_else(error)?;
        // `u32::from_str` accepts a leading `+`; a version does not.
        let number = |part: &str| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse::<u32>().ok()
            } else {
                None
            }
        };
        match (number(major), number(minor)) {
            (Some(major), Some(minor)) => Ok(ProtocolVersion::new(major, minor)),
            _ => Err(error()),
        }
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A plugin and a host that share no protocol major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMismatch {
    /// The plugin's name.
    pub plugin: String,
    /// What the plugin speaks (or answered).
    pub plugin_versions: Vec<ProtocolVersion>,
    /// What the host offered.
    pub host_versions: Vec<ProtocolVersion>,
}

fn list(versions: &[ProtocolVersion]) -> String {
    let names: Vec<String> = versions.iter().map(ToString::to_string).collect();
    match names.len() {
        0 => "no version".to_owned(),
        _ => names.join(", "),
    }
}

impl fmt::Display for VersionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plugin `{}` speaks protocol {}, but the host speaks {}; \
             install a version of the plugin made for the host's protocol, or an aido that speaks the plugin's",
            self.plugin,
            list(&self.plugin_versions),
            list(&self.host_versions),
        )
    }
}

impl std::error::Error for VersionMismatch {}

impl From<&VersionMismatch> for RpcError {
    fn from(mismatch: &VersionMismatch) -> Self {
        RpcError::new(
            crate::codes::VERSION_MISMATCH,
            aido_plugin_api::ErrorKind::Unsupported,
            mismatch.to_string(),
        )
    }
}

impl From<&VersionMismatch> for Error {
    fn from(mismatch: &VersionMismatch) -> Self {
        Error::unsupported(mismatch.to_string()).in_call(&mismatch.plugin, "initialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> ProtocolVersion {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_displays_major_dot_minor() {
        assert_eq!(v("1.0"), ProtocolVersion::new(1, 0));
        assert_eq!(v("12.34").to_string(), "12.34");
        for bad in ["1", "1.0.0", "", ".1", "1.", "a.b", "+1.0", "1.-1", " 1.0"] {
            assert!(bad.parse::<ProtocolVersion>().is_err(), "{bad}");
        }
        let err = "2".parse::<ProtocolVersion>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`2` is not a protocol version; expected MAJOR.MINOR, such as 1.0"
        );
    }

    #[test]
    fn travels_as_a_string() {
        assert_eq!(serde_json::to_string(&v("1.3")).unwrap(), r#""1.3""#);
        assert_eq!(
            serde_json::from_str::<ProtocolVersion>(r#""2.0""#).unwrap(),
            v("2.0")
        );
        assert!(serde_json::from_str::<ProtocolVersion>("1.0").is_err());
    }

    #[test]
    fn same_major_is_compatible() {
        assert!(v("1.0").compatible_with(v("1.7")));
        assert!(!v("1.0").compatible_with(v("2.0")));
    }

    #[test]
    fn negotiation_takes_the_highest_common_major_at_the_lower_minor() {
        assert_eq!(
            ProtocolVersion::negotiate(&[v("1.2")], &[v("1.0")]),
            Some(v("1.0"))
        );
        assert_eq!(
            ProtocolVersion::negotiate(&[v("1.0")], &[v("1.5")]),
            Some(v("1.0"))
        );
        assert_eq!(
            ProtocolVersion::negotiate(&[v("1.4"), v("2.1")], &[v("2.3"), v("1.9")]),
            Some(v("2.1"))
        );
        assert_eq!(ProtocolVersion::negotiate(&[v("3.0")], &[v("1.0")]), None);
        assert_eq!(ProtocolVersion::negotiate(&[], &[v("1.0")]), None);
    }

    #[test]
    fn an_answer_must_be_within_the_offer() {
        let offered = [v("1.2")];
        assert!(v("1.0").is_within(&offered));
        assert!(v("1.2").is_within(&offered));
        assert!(!v("1.3").is_within(&offered));
        assert!(!v("2.0").is_within(&offered));
    }

    #[test]
    fn a_mismatch_names_the_plugin_and_both_versions() {
        let mismatch = VersionMismatch {
            plugin: "memory-tasks".into(),
            plugin_versions: vec![v("2.0")],
            host_versions: vec![v("1.0")],
        };
        let text = mismatch.to_string();
        assert!(
            text.starts_with("plugin `memory-tasks` speaks protocol 2.0, but the host speaks 1.0;")
        );
        let wire = RpcError::from(&mismatch);
        assert_eq!(wire.code, crate::codes::VERSION_MISMATCH);
        assert_eq!(wire.kind(), aido_plugin_api::ErrorKind::Unsupported);
        let error = Error::from(&mismatch);
        assert_eq!(error.plugin(), "memory-tasks");
        assert_eq!(error.operation(), "initialize");
    }
}
