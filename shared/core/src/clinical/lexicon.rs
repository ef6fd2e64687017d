//! TODO(owner): lexicon stage.
