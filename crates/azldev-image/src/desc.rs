//! Image descriptions: native TOML and the kiwi XML subset, resolved per architecture.
