//! Attribute macros for Nitric applications.
