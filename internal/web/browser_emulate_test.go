package web_test

import (
	"context"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// widthAction narrows the viewport, as a tablet in portrait.
type widthAction int

func emulateWidth(w int) chromedp.OldAction { return widthAction(w) }

func (w widthAction) Do(ctx context.Context) error {
	_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: int64(w), Height: 1024, DeviceScaleFactor: 1, Mobile: false})
	return err
}
