//! TODO(owner): note stage.
