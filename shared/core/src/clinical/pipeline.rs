//! TODO(owner): pipeline stage.
