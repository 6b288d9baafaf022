//! The closed-looking string sets of a Lambda function (`Runtime`,
//! `PackageType`, `Architectures`) as enums: a typo is a compile error,
//! and each keeps an `Other` variant for a value AWS adds before this crate
//! does. Each serializes to exactly the string CloudFormation expects, and
//! `from` a string gives the named variant when there is one, so
//! `Runtime::from("provided.al2023") == Runtime::ProvidedAl2023`.

use std::fmt;

use serde::{Serialize, Serializer};

/// An enum of CloudFormation strings with an `Other(String)` escape hatch:
/// `as_str`, `From<&str>`/`From<String>`, `Display` and `Serialize`.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $s:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not name yet, written as given.
            Other(String),
        }

        impl $name {
            /// The string CloudFormation and the Lambda API use.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $s, )*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            /// The named variant for a known string, else `Other`.
            fn from(s: &str) -> Self {
                match s {
                    $( $s => $name::$variant, )*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name::from(s.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// `Runtime`: the runtimes Lambda lets a new function use (deprecated
    /// ones, and any added after this list, go through `Other`).
    Runtime {
        /// `provided.al2023`: a custom runtime (a Rust `bootstrap`) on Amazon Linux 2023.
        ProvidedAl2023 = "provided.al2023",
        /// `provided.al2`: a custom runtime on Amazon Linux 2.
        ProvidedAl2 = "provided.al2",
        /// `nodejs24.x`.
        Nodejs24 = "nodejs24.x",
        /// `nodejs22.x`.
        Nodejs22 = "nodejs22.x",
        /// `nodejs20.x`.
        Nodejs20 = "nodejs20.x",
        /// `python3.14`.
        Python314 = "python3.14",
        /// `python3.13`.
        Python313 = "python3.13",
        /// `python3.12`.
        Python312 = "python3.12",
        /// `python3.11`.
        Python311 = "python3.11",
        /// `python3.10`.
        Python310 = "python3.10",
        /// `java25`.
        Java25 = "java25",
        /// `java21`.
        Java21 = "java21",
        /// `java17`.
        Java17 = "java17",
        /// `java11`.
        Java11 = "java11",
        /// `java8.al2`.
        Java8Al2 = "java8.al2",
        /// `dotnet10`.
        Dotnet10 = "dotnet10",
        /// `dotnet8`.
        Dotnet8 = "dotnet8",
        /// `ruby3.4`.
        Ruby34 = "ruby3.4",
        /// `ruby3.3`.
        Ruby33 = "ruby3.3",
    }
}

string_enum! {
    /// `PackageType`: how the code is delivered.
    PackageType {
        /// `Zip` (Lambda's default): a ZIP archive, with a `Runtime`.
        Zip = "Zip",
        /// `Image`: an ECR container image (`Code.ImageUri`), without a `Runtime`.
        Image = "Image",
    }
}

string_enum! {
    /// One of `Architectures`: the instruction set the function runs on;
    /// the package must be built for it.
    Architecture {
        /// `x86_64` (Lambda's default).
        X86_64 = "x86_64",
        /// `arm64` (Graviton): cheaper per GB-second; needs an aarch64 build.
        Arm64 = "arm64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_serializes_to_its_cloudformation_string() {
        let json = |v: &str| format!("\"{v}\"");
        let to = |v: &dyn erased_json::ToJson| v.to_json();
        assert_eq!(to(&Runtime::ProvidedAl2023), json("provided.al2023"));
        assert_eq!(to(&PackageType::Zip), json("Zip"));
        assert_eq!(to(&Architecture::X86_64), json("x86_64"));
        assert_eq!(to(&Runtime::Other("nodejs26.x".into())), json("nodejs26.x"));
    }

    #[test]
    fn from_a_string_names_the_variant_when_there_is_one() {
        assert_eq!(Runtime::from("provided.al2023"), Runtime::ProvidedAl2023);
        assert_eq!(Architecture::from("arm64"), Architecture::Arm64);
        assert_eq!(PackageType::from("Zipp"), PackageType::Other("Zipp".into()));
        assert_eq!(Runtime::from("go1.x").as_str(), "go1.x");
    }

    mod erased_json {
        pub trait ToJson {
            fn to_json(&self) -> String;
        }
        impl<T: serde::Serialize> ToJson for T {
            fn to_json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
