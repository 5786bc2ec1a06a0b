"""The law: vocabulary, profiles, facts, the condition language, the KB and the engine."""
