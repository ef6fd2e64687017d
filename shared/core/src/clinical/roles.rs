//! TODO(owner): roles stage.
