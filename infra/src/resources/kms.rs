//! AWS KMS.

use serde::Serialize;

use super::iam::{PolicyDocument, Principal, Role, Statement};
use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::template::Stack;
use crate::value::{Pseudo, Value};

/// `AWS::KMS::Key`. The default key policy gives the account root full
/// control, which is what lets IAM policies (our grants) use the key; a
/// key without it is unusable and, worse, unmanageable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Key {
    /// `Description`, up to 8192 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `EnableKeyRotation`: KMS rotates the key material yearly. On by default here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_key_rotation: Option<bool>,
    /// `PendingWindowInDays`, 7..=30 (KMS default 30): how long a key removed
    /// from the stack waits before KMS destroys it; data under it is lost after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_window_in_days: Option<u32>,
    /// `KeyPolicy`. Keep the root statement [`Key::default`] adds, or IAM grants
    /// stop working and the key becomes unmanageable.
    pub key_policy: PolicyDocument,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for Key {
    const TYPE: &'static str = "AWS::KMS::Key";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::KEY);
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
#[non_exhaustive]
pub struct Alias {
    /// Must start with `alias/` (and not `alias/aws/`).
    pub alias_name: String,
    /// `TargetKeyId`: the key's ID or ARN, e.g. `key.key_id()`.
    pub target_key_id: Value<String>,
}

impl Alias {
    /// `alias/<name>` for the key `target_key_id` (its id or ARN).
    pub fn new(alias_name: impl Into<String>, target_key_id: Value<String>) -> Self {
        Alias {
            alias_name: alias_name.into(),
            target_key_id,
        }
    }
}

impl ResourceType for Alias {
    const TYPE: &'static str = "AWS::KMS::Alias";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::ALIAS);
}

impl Handle<Key> {
    /// The key ID (`Ref`).
    pub fn key_id(&self) -> Value<String> {
        self.ref_value()
    }

    /// The key's ARN (`Fn::GetAtt Arn`): what IAM policies and S3 bucket
    /// encryption need.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }

    /// Lets `role` encrypt and decrypt with the key.
    pub fn grant_encrypt_decrypt(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        role.add_grant(
            stack,
            self,
            Statement::allow(
                ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                [self.arn()],
            ),
        );
    }
}
