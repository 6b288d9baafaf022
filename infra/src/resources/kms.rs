//! AWS KMS.

use serde::Serialize;
use serde_with::skip_serializing_none;

use super::iam::{PolicyDocument, Principal, Statement};
use super::Tag;
use crate::template::Handle;
use crate::value::{Pseudo, Value};

/// `AWS::KMS::Key`. The default key policy gives the account root full
/// control, which is what lets IAM policies (our grants) use the key; a
/// key without it is unusable and, worse, unmanageable.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    pub description: Option<String>,
    pub enable_key_rotation: Option<bool>,
    pub pending_window_in_days: Option<u32>,
    pub key_policy: PolicyDocument,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Default for Key {
    fn default() -> Self {
        Key {
            description: None,
            enable_key_rotation: Some(true),
            pending_window_in_days: None,
            key_policy: PolicyDocument::new(vec![Statement {
                principal: Some(Principal::account(Pseudo::AccountId)),
                ..Statement::allow(["kms:*"], [Value::from("*")])
            }
            .sid("AccountRootFullAccess")]),
            tags: Vec::new(),
        }
    }
}

/// `AWS::KMS::Alias`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alias {
    /// Must start with `alias/` (and not `alias/aws/`).
    pub alias_name: String,
    pub target_key_id: Value<String>,
}

impl Handle<Key> {
    /// The key ID (`Ref`).
    pub fn key_id(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
