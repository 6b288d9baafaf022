//! Lambda handler: see README.md (issue 5).
