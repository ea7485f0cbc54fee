# `gazette serve` 向读者显示的页面。
# $name：读者姓名（名单中没有姓名时为其地址）；$email：其地址。
page-unsubscribe-title = 退订
page-unsubscribe-question = 要让{ $name } <{ $email }>退订{ site-title }吗？
page-unsubscribe-button = 退订
page-unsubscribed-title = 您已退订
page-unsubscribed-text = { $email }将不再收到{ site-title }的邮件。
page-bad-link-title = 此链接无效
page-bad-link-text = 链接不完整，或在传递中被改动。请使用您最近收到的{ site-title }邮件中的链接。
page-not-found-title = 找不到页面
page-not-found-text = 此地址没有页面。
page-error-title = 出错了
page-error-text = 您的请求没有完成，请过几分钟再试。
page-unsubscribe-preferences = 改为调整接收内容
page-preferences-title = 您的偏好
page-preferences-intro = 选择{ site-title }如何给{ $email }写信。
page-preferences-name = 姓名
page-preferences-language = 简报语言
page-preferences-topics = 话题
page-preferences-topics-hint = 全部不勾选即接收所有报道。
page-preferences-save = 保存
page-preferences-unsubscribe = 改为退订
page-preferences-saved-title = 偏好已保存
page-preferences-saved-text = 您发往{ $email }的下一期简报将按此发送。
page-subscribe-title = 订阅{ site-title }
page-subscribe-intro = 通过电子邮件接收我们的报道简报，语言由您选择。我们会先发送一个确认链接。
page-subscribe-email = 电子邮件地址
page-subscribe-name = 姓名（可选）
page-subscribe-button = 订阅
page-subscribe-bad-address = 请输入电子邮件地址，例如 name@example.org。
page-subscribe-sent-title = 请查收邮件
page-subscribe-sent-text = 如果{ $email }能收到邮件，一封带有确认链接的邮件正在发送。在您打开它之前，我们不会再发送任何邮件。
page-too-many-title = 请求过多
page-too-many-text = 请一小时后再试。
page-confirm-title = 确认订阅
page-confirm-question = 要把{ site-title }发送到{ $email }吗？
page-confirm-button = 确认
page-confirmed-title = 订阅成功
page-confirmed-text = { $email }将收到下一期{ site-title }。
page-confirmed-preferences = 更改语言或话题
page-confirm-expired-title = 此链接已过期
page-confirm-expired-text = 确认链接的有效期为{ $days }天。请重新订阅以获取新链接。
# 确认邮件。$url：确认链接；$days：有效天数。
signup-mail-subject = 确认订阅{ site-title }
signup-mail-body =
    您好：

    有人（希望是您）请求把{ site-title }发送到{ $email }。如需确认，请打开以下链接并点击按钮：

    { $url }

    该链接的有效期为{ $days }天。如果不是您本人请求，请忽略此邮件：您不会再收到我们的任何邮件。
page-resubscribe-button = 重新订阅
page-resubscribed-title = 欢迎回来
page-resubscribed-text = { $email }将重新收到下一期{ site-title }。
page-resubscribe-refused-title = 无法在此重新订阅该地址
page-resubscribe-refused-text = 发往{ $email }的邮件因其他原因被停止（退信或被举报）。请写信给编辑部恢复。
