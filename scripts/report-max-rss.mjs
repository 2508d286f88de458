// Preloaded with --import by benchmarks: prints the process's peak RSS on stderr as it exits.
process.on('exit', () => {
  process.stderr.write(`max-rss-kb: ${process.resourceUsage().maxRSS}\n`);
});
