//! TODO(owner): dialogue stage.
