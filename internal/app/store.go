package app

import (
	"context"

	"github.com/openchart/openchart/internal/store"
)

// OpenStore opens only the store cfg names, for commands that read it
// without the rest of the stack (audit verify). Close it when done.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	return openStore(ctx, cfg)
}
