//! Grants, as in CDK: least-privilege statements scoped to one resource's
//! ARN, added to a role's inline policy named after that resource (so all
//! grants on the render bucket land in `RenderBucketAccess`, readable in a
//! template diff).

use crate::handle::Handle;
use crate::resources::iam::{Role, Statement};
use crate::resources::kms::Key;
use crate::resources::lambda::{Function, Permission};
use crate::resources::s3::Bucket;
use crate::resources::stepfunctions::StateMachine;
use crate::template::Template;
use crate::value::Value;

fn policy_name<T>(target: Handle<T>) -> String {
    format!("{}Access", target.logical_id())
}

impl Template {
    fn add_statement<T>(&mut self, role: Handle<Role>, target: Handle<T>, s: Statement) {
        let name = policy_name(target);
        self.get_mut(role).add_to_policy(&name, s);
    }

    /// The customer KMS key the bucket encrypts with, if any: readers and
    /// writers need it too, or every GetObject fails with AccessDenied.
    fn bucket_kms_key(&self, bucket: Handle<Bucket>) -> Option<Value<String>> {
        self.get(bucket)
            .bucket_encryption
            .as_ref()?
            .server_side_encryption_configuration
            .iter()
            .find_map(|r| {
                r.server_side_encryption_by_default
                    .kms_master_key_id
                    .clone()
            })
    }

    fn grant_bucket(
        &mut self,
        bucket: Handle<Bucket>,
        role: Handle<Role>,
        object_actions: &[&str],
        kms_actions: &[&str],
    ) {
        self.add_statement(
            role,
            bucket,
            Statement::allow(
                object_actions.iter().copied(),
                [bucket.arn_for_objects("*")],
            ),
        );
        self.add_statement(
            role,
            bucket,
            Statement::allow(["s3:ListBucket", "s3:GetBucketLocation"], [bucket.arn()]),
        );
        if let Some(key) = self.bucket_kms_key(bucket) {
            self.add_statement(
                role,
                bucket,
                Statement::allow(kms_actions.iter().copied(), [key]),
            );
        }
    }

    /// Lets `role` list the bucket and read its objects.
    pub fn grant_read(&mut self, bucket: Handle<Bucket>, role: Handle<Role>) {
        self.grant_bucket(bucket, role, &["s3:GetObject"], &["kms:Decrypt"]);
    }

    /// Lets `role` write objects (not read or delete them): for uploaders
    /// such as a CI job staging project archives.
    pub fn grant_put(&mut self, bucket: Handle<Bucket>, role: Handle<Role>) {
        self.grant_bucket(
            bucket,
            role,
            &["s3:PutObject", "s3:AbortMultipartUpload"],
            // Multipart uploads to an SSE-KMS bucket also need kms:Decrypt.
            &["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
        );
    }

    /// Lets `role` read, write and delete objects and list the bucket.
    pub fn grant_read_write(&mut self, bucket: Handle<Bucket>, role: Handle<Role>) {
        self.grant_bucket(
            bucket,
            role,
            &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            &["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
        );
    }

    /// Lets `role` invoke the function.
    pub fn grant_invoke(&mut self, function: Handle<Function>, role: Handle<Role>) {
        self.add_statement(
            role,
            function,
            Statement::allow(["lambda:InvokeFunction"], [function.arn()]),
        );
    }

    /// Lets an AWS service (e.g. `sns.amazonaws.com`) invoke the function,
    /// optionally only from one source ARN, through the function's resource
    /// policy (`AWS::Lambda::Permission` named `logical_id`).
    pub fn grant_invoke_by_service(
        &mut self,
        logical_id: &str,
        function: Handle<Function>,
        service: &str,
        source_arn: Option<Value<String>>,
    ) -> Handle<Permission> {
        self.add(
            logical_id,
            Permission {
                action: "lambda:InvokeFunction".into(),
                function_name: function.arn(),
                principal: service.into(),
                source_arn,
                source_account: None,
            },
        )
    }

    /// Lets `role` start executions (renders).
    pub fn grant_start_execution(&mut self, sm: Handle<StateMachine>, role: Handle<Role>) {
        self.add_statement(
            role,
            sm,
            Statement::allow(["states:StartExecution"], [sm.arn()]),
        );
    }

    /// Lets `role` follow executions: list them, read their status and
    /// history (what progress reporting needs).
    pub fn grant_read_executions(&mut self, sm: Handle<StateMachine>, role: Handle<Role>) {
        self.add_statement(
            role,
            sm,
            Statement::allow(
                ["states:ListExecutions", "states:DescribeStateMachine"],
                [sm.arn()],
            ),
        );
        self.add_statement(
            role,
            sm,
            Statement::allow(
                ["states:DescribeExecution", "states:GetExecutionHistory"],
                [sm.execution_arn_pattern()],
            ),
        );
    }

    /// Lets `role` stop (cancel) executions.
    pub fn grant_stop_execution(&mut self, sm: Handle<StateMachine>, role: Handle<Role>) {
        self.add_statement(
            role,
            sm,
            Statement::allow(["states:StopExecution"], [sm.execution_arn_pattern()]),
        );
    }

    /// Lets `role` encrypt and decrypt with the key.
    pub fn grant_encrypt_decrypt(&mut self, key: Handle<Key>, role: Handle<Role>) {
        self.add_statement(
            role,
            key,
            Statement::allow(
                ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                [key.arn()],
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::iam::Principal;
    use serde_json::json;

    #[test]
    fn grants_are_scoped_and_deduplicated() {
        let mut t = Template::new();
        let b = t.add("B", Bucket::default());
        let r = t.add(
            "R",
            Role::assumed_by(Principal::service("ec2.amazonaws.com")),
        );
        t.grant_read(b, r);
        t.grant_read(b, r);
        let j = t.to_json();
        let policies = &j["Resources"]["R"]["Properties"]["Policies"];
        assert_eq!(policies.as_array().unwrap().len(), 1);
        assert_eq!(policies[0]["PolicyName"], "BAccess");
        let st = &policies[0]["PolicyDocument"]["Statement"];
        assert_eq!(st.as_array().unwrap().len(), 2, "{st}");
        assert_eq!(st[0]["Action"], "s3:GetObject");
        assert_eq!(st[0]["Resource"], json!({"Fn::Sub": "${B.Arn}/*"}));
    }
}
