//! `Handle<T>`: a typed logical ID. The template owns every resource; a
//! handle names one of them, is cheap to clone, and knows its resource type, so the
//! attributes each service module defines on it (`arn()`, `name()`,
//! metrics, grants) produce the right intrinsic without a string in sight.

use std::marker::PhantomData;

use crate::name::Name;
use crate::value::Value;

/// A typed logical ID: `Handle<Bucket>` names a bucket in the template,
/// knows which attributes its resource type has, and is cheap to clone
/// (the name is shared, not copied).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Handle<T> {
    id: Name,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle::new(self.id.clone())
    }
}

impl<T> Handle<T> {
    pub(crate) fn new(id: impl Into<Name>) -> Self {
        Handle {
            id: id.into(),
            _t: PhantomData,
        }
    }

    /// The logical ID: the key under `Resources`, and what `Ref`/`GetAtt` name.
    pub fn logical_id(&self) -> &str {
        &self.id
    }

    /// The logical ID, shared with the handle.
    pub(crate) fn id(&self) -> &Name {
        &self.id
    }

    /// `{"Ref": "<logical id>"}`: what `Ref` returns depends on the type
    /// (a bucket's name, a state machine's ARN); the typed accessors on each
    /// handle (`name()`, `arn()`) say which.
    pub(crate) fn ref_value(&self) -> Value<String> {
        Value::reference(self.id.clone())
    }

    pub(crate) fn att(&self, attribute: &str) -> Value<String> {
        Value::get_att(self.id.clone(), attribute)
    }
}
