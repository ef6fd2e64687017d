//! TODO(owner): turns stage.
