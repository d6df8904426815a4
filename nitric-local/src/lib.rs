//! A local Nitric membrane.
