//! Integration tests of `azldev-render`.

mod corpus;
