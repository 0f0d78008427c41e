//! The names of the enums a user types: data sets, models, initializations, scales, SGD
//! layouts and kernel solvers. clap's `ValueEnum` derive is their one source, in kebab
//! case: the command line takes them (and lists them in `--help` and its errors), and
//! [`named!`] gives each type `all()`, `name()`, `Display` and a `FromStr` whose error names the
//! field and the choices. Their serde form (`rename_all = "kebab-case"`, in config.json)
//! is checked against it by a unit test.
use crate::error::{Error, Result};
use clap::ValueEnum;

/// `v`'s name, as typed.
pub fn name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// Every name of `T`, in declaration order.
pub fn names<T: ValueEnum>() -> Vec<String> {
    T::value_variants().iter().map(name).collect()
}

/// The `T` named `s`; an unknown name is a config error on `field` that lists the names.
pub fn parse<T: ValueEnum>(s: &str, field: &'static str, what: &str) -> Result<T> {
    T::value_variants()
        .iter()
        .find(|v| name(*v) == s)
        .cloned()
        .ok_or_else(|| {
            Error::config(
                field,
                format!("unknown {what} {s:?} (one of {})", names::<T>().join(", ")),
            )
        })
}

/// `all()`, `name()`, `Display` and `FromStr` for a `ValueEnum`: `named!(Type, "field", "what")`,
/// where `field` names the config field in errors and `what` the thing ("model").
#[macro_export]
macro_rules! named {
    ($t:ty, $field:literal, $what:literal) => {
        impl $t {
            /// Every variant, in declaration order.
            pub fn all() -> &'static [$t] {
                <$t as clap::ValueEnum>::value_variants()
            }

            /// The name, as typed on the command line and written in config.json.
            pub fn name(&self) -> String {
                $crate::names::name(self)
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&$crate::names::name(self))
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                $crate::names::parse(s, $field, $what)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    /// A named enum of its own, so that this module's tests import nothing above it.
    #[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
    enum Net {
        Mlp1x512,
        InceptionNobn,
        F32Refined,
    }
    crate::named!(Net, "model", "model");

    #[test]
    fn names_are_kebab_case_and_parse_back() {
        let names: Vec<String> = Net::all().iter().map(Net::name).collect();
        assert_eq!(names, ["mlp1x512", "inception-nobn", "f32-refined"]);
        for &n in Net::all() {
            assert_eq!(n.to_string().parse::<Net>().unwrap(), n);
        }
    }

    #[test]
    fn an_unknown_name_is_an_error_naming_the_field_and_the_choices() {
        let e = "vgg".parse::<Net>().unwrap_err().to_string();
        assert!(e.contains("model") && e.contains("\"vgg\""), "{e}");
        assert!(e.contains("mlp1x512, inception-nobn, f32-refined"), "{e}");
    }
}
