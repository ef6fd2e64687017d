//! TODO(owner): sections stage.
