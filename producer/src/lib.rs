//! Producer: see README.md (issue 6).
