package storetest

import (
	"testing"

	"github.com/openchart/openchart/internal/store"
)

func testSort(t *testing.T, s store.Store)              {}
func testPaging(t *testing.T, s store.Store)            {}
func testHistory(t *testing.T, s store.Store)           {}
func testHistoryPaging(t *testing.T, s store.Store)     {}
func testVersionProperties(t *testing.T, s store.Store) {}
