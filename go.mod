module github.com/openchart/openchart

go 1.26
