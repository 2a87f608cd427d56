package gcsync

import (
	"context"
	"errors"
	"strings"

	"booksmeta/internal/getcourse"
)

// SubscribeResult is what the panel says after a Tech API subscription.
type SubscribeResult struct {
	OK         bool
	Subscribed []string // Russian names of the order events now delivered to us
	Failed     []string // Russian names of those that were not
	Message    string   // Russian: what happened and what to do
}

// orderEvents are the Tech API order events, in the order they happen.
var orderEvents = []struct {
	id   int
	name string
}{
	{getcourse.TechEventDealCreated, "«Заказ создан»"},
	{getcourse.TechEventDealStatusChanged, "«Статус заказа изменён»"},
	{getcourse.TechEventDealPaid, "«Заказ оплачен»"},
}

// SubscribeOrders subscribes uri to GetCourse's order events with the saved
// developer key and the school's API key, through the recorded client, so
// every set-uri request is in the call log like the connection test.
func (s *Service) SubscribeOrders(ctx context.Context, uri string) SubscribeResult {
	c, err := s.Config(ctx)
	if err != nil {
		s.Log.Error("getcourse subscribe: read settings", "err", err)
		return SubscribeResult{Message: errSettings}
	}
	dev, err := s.Settings.Get(ctx, SettingDeveloperKey)
	if err != nil {
		s.Log.Error("getcourse subscribe: read developer key", "err", err)
		return SubscribeResult{Message: "Не удалось прочитать сохранённый ключ разработчика (возможно, сменился ключ шифрования BOOKSMETA_SECRET_KEY). Введите ключ разработчика заново и нажмите кнопку ещё раз."}
	}
	devKey := strings.TrimSpace(dev.Value)
	if devKey == "" {
		return SubscribeResult{Message: "Не указан ключ разработчика GetCourse. Его выдаёт GetCourse интеграторам по запросу в поддержку; без него подключите GetCourse процессом с операцией «Вызвать URL» (способ 1 на этой странице)."}
	}
	if err := c.Validate(); err != nil {
		return SubscribeResult{Message: "Сначала укажите аккаунт GetCourse и API ключ школы в разделе Настройки → GetCourse API: подписка оформляется ключом разработчика вместе с ключом школы. " + getcourse.Russian(err)}
	}
	client := s.clientWith(c, devKey)
	err = client.SubscribeOrders(ctx, devKey, uri)
	res := SubscribeResult{}
	failed := map[int]bool{}
	var se *getcourse.SubscribeError
	switch {
	case err == nil:
	case errors.As(err, &se):
		for id := range se.Failed {
			failed[id] = true
		}
	default:
		for _, e := range orderEvents {
			failed[e.id] = true
		}
	}
	for _, e := range orderEvents {
		if failed[e.id] {
			res.Failed = append(res.Failed, e.name)
		} else {
			res.Subscribed = append(res.Subscribed, e.name)
		}
	}
	s.Log.Info("getcourse tech api subscription", "account", c.AccountName(), "subscribed", len(res.Subscribed), "failed", len(res.Failed))
	if err == nil {
		res.OK = true
		res.Message = "Готово: GetCourse будет присылать в Book Smeta события заказов " + strings.Join(res.Subscribed, ", ") +
			". Проверьте: оформите тестовый заказ в GetCourse — он появится ниже, в «Последних запросах от GetCourse»."
		return res
	}
	if se != nil {
		res.Message = se.Russian()
	} else {
		res.Message = getcourse.Russian(err)
	}
	if len(res.Subscribed) > 0 {
		res.Message += " Уже подписаны: " + strings.Join(res.Subscribed, ", ") + ". Нажмите кнопку ещё раз, когда исправите причину: повторная подписка безопасна."
	}
	return res
}
