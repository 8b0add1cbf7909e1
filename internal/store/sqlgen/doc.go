// Package sqlgen holds what the SQL stores (store/sqlite and store/postgres)
// share: the flattening of a store.Index into rows of the index side tables,
// and the compilation of a store.Query or store.HistoryQuery into one SQL
// statement with numbered placeholders. Both stores use the same table and
// column names (docs/STORAGE.md), so only a few expressions differ between
// dialects; keeping one compiler means a search means the same thing on both.
// AutoAnalyze is the shared rule for refreshing planner statistics as the
// data grows.
//
// Values are never interpolated into SQL text: every value becomes a
// placeholder argument.
package sqlgen
