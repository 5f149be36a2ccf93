//! Arbitrary input at every endpoint (written next).
