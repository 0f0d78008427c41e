//! Helpers shared by the claim tests.
#![allow(dead_code)]
