//! Feature flags from the environment: `LIFEOS_FEATURE_<NAME>=on|off`, read
//! once at start, exposed at `GET /api/v1/features`, and checked in code
//! through [`Features`] only.

use std::collections::BTreeMap;

use crate::error::StartupError;

const PREFIX: &str = "LIFEOS_FEATURE_";

/// Flags the code knows, with their default when the environment says nothing.
const KNOWN: &[(&str, bool)] = &[
    // Registration requires an invitation (planned; off until it exists).
    ("signup_invites", false),
];

/// The feature flags in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    flags: BTreeMap<String, bool>,
}

impl Features {
    /// Reads every `LIFEOS_FEATURE_*` variable from `vars`. A value other than
    /// `on` or `off` stops the relay with a clear message rather than guessing.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, StartupError> {
        let mut flags: BTreeMap<String, bool> =
            KNOWN.iter().map(|(n, d)| (n.to_string(), *d)).collect();
        for (key, value) in vars {
            let Some(name) = key.strip_prefix(PREFIX) else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(StartupError::Config(format!(
                    "{key} is not a valid feature flag name"
                )));
            }
            let on = match value.trim().to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                other => {
                    return Err(StartupError::Config(format!(
                        "{key} must be on or off, not {other:?}"
                    )));
                }
            };
            flags.insert(name, on);
        }
        Ok(Features { flags })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, StartupError> {
        Self::from_vars(std::env::vars())
    }

    /// Whether flag `name` (lower case, as in `/api/v1/features`) is on.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.flags.get(name).copied().unwrap_or(false)
    }

    /// Every flag and its state.
    pub fn all(&self) -> &BTreeMap<String, bool> {
        &self.flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flags_from_the_environment() {
        let f = Features::from_vars(vars(&[
            ("LIFEOS_FEATURE_SIGNUP_INVITES", "on"),
            ("LIFEOS_FEATURE_NEW_EDITOR", "OFF"),
            ("PATH", "/bin"),
        ]))
        .unwrap();
        assert!(f.is_enabled("signup_invites"));
        assert!(!f.is_enabled("new_editor"));
        assert!(!f.is_enabled("unknown"));
        assert_eq!(f.all().len(), 2);
        assert!(
            !Features::from_vars(vec![])
                .unwrap()
                .is_enabled("signup_invites"),
            "known flags default off"
        );
    }

    #[test]
    fn bad_values_and_names_stop_the_relay() {
        assert!(Features::from_vars(vars(&[("LIFEOS_FEATURE_X", "yes")])).is_err());
        assert!(Features::from_vars(vars(&[("LIFEOS_FEATURE_", "on")])).is_err());
        assert!(Features::from_vars(vars(&[("LIFEOS_FEATURE_A-B", "on")])).is_err());
    }
}
