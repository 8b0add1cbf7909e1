package sqlgen

import "github.com/openchart/openchart/internal/store"

// ResultSet is what both drivers' result sets offer (pgx.Rows and *sql.Rows).
type ResultSet interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanPage reads the records of a Page statement (type, id, version,
// last_updated, method, json). With count > 0 it stops after count records
// and reports whether another row followed (the statement asks for one
// more than the page). Errors are the driver's, for the caller to map.
func ScanPage(rows ResultSet, count int) (recs []*store.Record, more bool, err error) {
	for rows.Next() {
		if count > 0 && len(recs) == count {
			return recs, true, nil
		}
		rec := &store.Record{}
		var lu, method int64
		if err := rows.Scan(&rec.Type, &rec.ID, &rec.Version, &lu, &method, &rec.JSON); err != nil {
			return nil, false, err
		}
		rec.LastUpdated = FromMicros(lu)
		rec.Method = store.Method(method)
		recs = append(recs, rec)
	}
	return recs, false, rows.Err()
}
