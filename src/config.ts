/** Configuration: one zod schema for file, environment and flags (see src/config/ for the parts). */
export { configSchema, LOG_LEVELS, type ParsedConfig, type ParsedSink, type SecretRef, type FieldMeta } from './config/schema.js';
export { loadConfig, isConfigProblem, DEFAULT_CONFIG_PATH, type Config, type SinkConfig, type LoadConfigOptions, type LoadedConfig } from './config/load.js';
export { addConfigOptions, sinksFromFlags, type ConfigFlags } from './config/flags.js';
export { ConfigError, formatIssue, type ConfigIssue } from './config/issues.js';
export { Secret, MASK } from './config/secret.js';
export { effectiveConfigYaml } from './config/print.js';
export { configFields, envName, type ConfigField } from './config/fields.js';
export { configReferenceMarkdown } from './config/reference.js';
export { parseListen, isLoopback, type ListenAddress } from './config/listen.js';
