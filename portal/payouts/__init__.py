"""兑现: 免申即享 payout rounds (兑现批次) and the tracking of ordinary applications, up to the money paid."""
