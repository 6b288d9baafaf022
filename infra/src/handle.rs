//! `Handle<T>`: a typed logical ID. The template owns every resource; a
//! handle names one of them, is `Copy`, and knows its resource type, so the
//! attributes each service module defines on it (`arn()`, `name()`,
//! metrics, grants) produce the right intrinsic without a string in sight.

use std::marker::PhantomData;

use crate::value::Value;

/// A typed logical ID: `Handle<Bucket>` names a bucket in the template, is
/// `Copy`, and knows which attributes its resource type has.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Handle<T> {
    id: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}

impl<T> Handle<T> {
    pub(crate) fn new(id: &'static str) -> Self {
        Handle {
            id,
            _t: PhantomData,
        }
    }

    /// The logical ID: the key under `Resources`, and what `Ref`/`GetAtt` name.
    pub fn logical_id(&self) -> &'static str {
        self.id
    }

    /// `{"Ref": "<logical id>"}`: what `Ref` returns depends on the type
    /// (a bucket's name, a state machine's ARN); the typed accessors on each
    /// handle (`name()`, `arn()`) say which.
    pub(crate) fn ref_value(&self) -> Value<String> {
        Value::reference(self.id)
    }

    pub(crate) fn att(&self, attribute: &'static str) -> Value<String> {
        Value::get_att(self.id, attribute)
    }
}
