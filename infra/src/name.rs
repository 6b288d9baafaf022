//! [`Name`]: a logical ID (of a resource, parameter, condition or output)
//! as the template, handles and intrinsics hold it. Shared, not copied:
//! a handle and every `Ref` built from it point at one allocation, which is
//! freed with the last of them (names were once leaked to be `&'static`).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A logical ID or another template-level name; cheap to clone, compares
/// and hashes as its text, and looks up maps keyed by `&str`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(Arc::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(Arc::from(s))
    }
}

impl From<&Name> for Name {
    fn from(n: &Name) -> Self {
        n.clone()
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Weak};

    use crate::{HyperframesRenderStack, Stack};

    use super::Name;

    fn weak(n: &Name) -> Weak<str> {
        Arc::downgrade(&n.0)
    }

    /// A name lives as long as the template or a handle holding it, and
    /// not longer: building stacks in a loop does not grow memory.
    #[test]
    fn names_are_freed_with_the_template_and_its_handles() {
        let mut stack = HyperframesRenderStack::default();
        let bucket = stack.bucket();
        let renamed = stack.rename(&bucket, "VideoBucket");
        let (old, new) = (weak(bucket.id()), weak(renamed.id()));
        let reference = renamed.arn();
        drop(stack);
        assert!(
            new.upgrade().is_some(),
            "the handle and its Ref still hold it"
        );
        drop((bucket, renamed, reference));
        assert!(old.upgrade().is_none(), "the old name was freed");
        assert!(new.upgrade().is_none(), "the new name was freed");
    }

    #[test]
    fn compares_and_looks_up_as_text() {
        let n = Name::from("RenderBucket");
        assert_eq!(n, "RenderBucket");
        assert_eq!(n.to_string(), "RenderBucket");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"RenderBucket\"");
        let mut m = indexmap::IndexMap::new();
        m.insert(n.clone(), 1);
        assert_eq!(m.get("RenderBucket"), Some(&1));
    }
}
